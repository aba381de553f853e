"""Validation of run-create bodies (api-surface §1.3): defaults, official error wording, ignored unknown fields."""

from __future__ import annotations

import pytest

from agentplatform.errors import BadRequest, InvalidInput
from runs.payload import Body, parse_run_payload, run_create_schema


def parse(stateless: bool = False, **body):
    return parse_run_payload({"assistant_id": "echo", **body}, stateless=stateless)


def test_defaults_match_the_official_server():
    request = parse()
    assert request.stream_mode == ["values"]
    assert request.multitask_strategy == "enqueue"
    assert request.if_not_exists == "reject"
    assert request.on_completion == "keep"
    assert request.durability == "async"
    assert request.after_seconds == 0


def test_stateless_defaults_delete_and_create():
    request = parse(stateless=True, if_not_exists="reject", checkpoint_id="00000000-0000-0000-0000-000000000001")
    assert (request.on_completion, request.if_not_exists, request.checkpoint) == ("delete", "create", None)


def test_unknown_fields_are_ignored_and_an_undocumented_fields_unknown_value_is_its_default():
    # The stateless body does not document multitask_strategy, so the official server does not validate it there.
    request = parse(True, strict_resume=True, langsmith_tracer={"project_name": "p"}, multitask_strategy="bogus")
    assert request.multitask_strategy == "enqueue"
    assert parse(on_disconnect="bogus").on_disconnect == "continue"  # only /wait and /stream take on_disconnect


@pytest.mark.parametrize(
    "body",
    [
        {"multitask_strategy": "bogus"},
        {"if_not_exists": "bogus"},
        {"multitask_strategy": None},
        {"metadata": None},
        {"config": None},
        {"context": None},
        {"webhook": None},
        {"stream_mode": None},
        {"durability": None},
        {"stream_subgraphs": "x"},
        {"stream_resumable": 1},
        {"checkpoint_during": "yes"},
        {"feedback_keys": [1]},
    ],
)
def test_a_documented_field_of_the_wrong_type_enum_or_null_is_422_as_officially(body):
    with pytest.raises(InvalidInput):
        parse(**body)


def test_nullable_fields_take_null():
    request = parse(input=None, command=None, checkpoint_id=None)
    assert (request.input, request.command, request.checkpoint) == (None, None, None)


def test_streaming_bodies_validate_on_disconnect():
    with pytest.raises(InvalidInput, match="on_disconnect"):
        parse_run_payload({"assistant_id": "echo", "on_disconnect": "bogus"}, stateless=False, streaming=True)
    streaming = parse_run_payload({"assistant_id": "echo", "on_disconnect": "cancel"}, stateless=True, streaming=True)
    assert streaming.on_disconnect == "cancel"


def test_single_stream_mode_becomes_a_list_and_bad_one_is_422():
    assert parse(stream_mode="updates").stream_mode == ["updates"]
    with pytest.raises(InvalidInput, match="stream_mode"):
        parse(stream_mode=["values", "nope"])


def test_v2_only_stream_modes_are_422_with_the_official_detail():
    with pytest.raises(InvalidInput, match="only supported on the v2 event streaming endpoints"):
        parse(stream_mode=["values", "lifecycle"])


def test_missing_assistant_is_422():
    with pytest.raises(InvalidInput, match="assistant_id"):
        parse_run_payload({"input": {}}, stateless=False)


def test_context_mirrors_configurable_and_reserved_keys_are_stripped():
    request = parse(config={"configurable": {"model": "x", "run_id": "spoof"}})
    assert request.config["configurable"] == {"model": "x"}
    assert request.context == {"model": "x"}
    assert parse(context={"model": "y"}).config["configurable"] == {"model": "y"}


def test_configurable_and_context_together_is_400():
    with pytest.raises(BadRequest, match="Cannot specify both configurable and context"):
        parse(config={"configurable": {"a": 1}}, context={"b": 1})


def test_checkpoint_id_merges_into_checkpoint_and_must_be_a_uuid():
    request = parse(checkpoint={"checkpoint_ns": ""}, checkpoint_id="1ef4a9b8-0000-6000-8000-000000000001")
    assert request.checkpoint == {"checkpoint_ns": "", "checkpoint_id": "1ef4a9b8-0000-6000-8000-000000000001"}
    with pytest.raises(InvalidInput, match="Invalid checkpoint ID"):
        parse(checkpoint_id="nope")


def test_checkpoint_during_false_means_exit_durability():
    assert parse(checkpoint_during=False).durability == "exit"
    with pytest.raises(InvalidInput, match="durability"):
        parse(durability="sometimes")


@pytest.mark.parametrize("value", [-1, "5", True, 10**9])
def test_after_seconds_must_be_a_sane_number(value):
    with pytest.raises(InvalidInput, match="after_seconds"):
        parse(after_seconds=value)


def test_interrupt_nodes_are_star_or_a_list_of_names():
    assert parse(interrupt_before="*").interrupt_before == "*"
    assert parse(interrupt_after=["a"]).interrupt_after == ["a"]
    with pytest.raises(InvalidInput, match="interrupt_before"):
        parse(interrupt_before="a")


def test_resume_needs_a_real_thread():
    with pytest.raises(BadRequest, match="You must provide a thread_id when resuming"):
        parse(stateless=True, command={"resume": 1})
    with pytest.raises(BadRequest, match="You must provide a thread_id when resuming"):
        parse(stateless=True, on_completion="keep", command={"resume": 1})
    assert parse(command={"resume": 1}).command == {"resume": 1}


def test_metadata_reserved_keys_are_dropped():
    assert parse(metadata={"thread_id": "x", "team": "a"}).metadata == {"team": "a"}


def test_non_object_body_is_422():
    with pytest.raises(InvalidInput):
        parse_run_payload(["not", "an", "object"], stateless=False)


def test_null_or_empty_configurable_means_none():
    for empty in (None, [], {}):
        request = parse(config={"configurable": empty, "tags": ["t"]})
        assert (request.config, request.context) == ({"configurable": {}, "tags": ["t"]}, {})


def test_server_owned_configurable_keys_are_stripped_from_config_and_context():
    owned = {"langgraph_auth_user": "spoof", "__after_seconds__": 1, "thread_id": "spoof", "graph_id": "g"}
    assert parse(config={"configurable": {**owned, "model": "x"}}).context == {"model": "x"}
    assert parse(context={**owned, "model": "y"}).config["configurable"] == {"model": "y"}


@pytest.mark.parametrize("body", list(Body))
def test_openapi_schema_documents_the_values_and_defaults_the_parser_uses(body):
    stateless = body is Body.STATELESS
    defaults = parse_run_payload({"assistant_id": "echo"}, stateless=stateless)
    for name, schema in run_create_schema(body)["properties"].items():
        for value in schema.get("enum", []):
            assert getattr(parse(stateless, **{name: value}), name) == value
        if "default" in schema:
            attr = {"stream_subgraphs": "subgraphs", "stream_resumable": "resumable"}.get(name, name)
            assert getattr(defaults, attr) == schema["default"], name
