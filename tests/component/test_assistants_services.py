import threading
import uuid

import pytest
from django.db import connection

from agentplatform.errors import BadRequest, Conflict, InvalidInput, NotFound
from assistants import selectors, services
from assistants.models import Assistant, AssistantVersion, system_assistant_id

pytestmark = pytest.mark.django_db


def test_create_defaults_name_to_untitled_and_writes_version_one():
    assistant = services.assistant_create(graph_id="echo")
    assert assistant.name == "Untitled"
    assert assistant.version == 1
    assert assistant.config == {}
    assert assistant.context == {}
    assert list(assistant.versions.values_list("version", flat=True)) == [1]


def test_create_mirrors_configurable_into_context_and_back():
    from_config = services.assistant_create(graph_id="factory", config={"configurable": {"greeting": "yo"}})
    assert from_config.context == {"greeting": "yo"}
    from_context = services.assistant_create(graph_id="factory", context={"greeting": "hey"})
    assert from_context.config == {"configurable": {"greeting": "hey"}}


def test_create_with_both_configurable_and_context_is_400():
    with pytest.raises(BadRequest) as excinfo:
        services.assistant_create(graph_id="echo", config={"configurable": {"a": 1}}, context={"b": 2})
    assert excinfo.value.status_code == 400
    assert excinfo.value.detail.startswith("Cannot specify both configurable and context.")


def test_create_unknown_graph_is_404_naming_the_graphs():
    with pytest.raises(NotFound) as excinfo:
        services.assistant_create(graph_id="nope")
    assert excinfo.value.detail.startswith("Graph 'nope' not found. Expected one of: [")


def test_create_existing_id_raises_409_or_returns_existing_with_do_nothing():
    first = services.assistant_create(graph_id="echo", name="a")
    with pytest.raises(Conflict) as excinfo:
        services.assistant_create(graph_id="echo", assistant_id=str(first.assistant_id))
    assert excinfo.value.detail == f"Assistant {first.assistant_id} already exists"
    same = services.assistant_create(graph_id="chat", assistant_id=first.assistant_id, if_exists="do_nothing")
    assert (same.assistant_id, same.graph_id, same.name) == (first.assistant_id, "echo", "a")
    assert AssistantVersion.objects.filter(assistant=first).count() == 1


def test_create_rejects_non_uuid_assistant_id():
    with pytest.raises(InvalidInput, match="Invalid assistant ID: must be a UUID"):
        services.assistant_create(graph_id="echo", assistant_id="not-a-uuid")


def test_reserved_metadata_and_configurable_keys_are_dropped():
    assistant = services.assistant_create(
        graph_id="echo",
        metadata={"thread_id": "x", "run_id": "y", "keep": 1},
        config={"configurable": {"langgraph_auth_user": "u", "__after_seconds__": 3, "model": "m"}},
    )
    assert assistant.metadata == {"keep": 1}
    assert assistant.config == {"configurable": {"model": "m"}}


def test_update_merges_metadata_and_appends_a_version():
    created = services.assistant_create(graph_id="echo", metadata={"a": 1, "b": 1}, name="one")
    updated = services.assistant_update(assistant_id=created.assistant_id, metadata={"b": 2, "c": 3})
    assert updated.metadata == {"a": 1, "b": 2, "c": 3}
    assert updated.version == 2
    assert updated.name == "one"
    assert updated.updated_at >= created.updated_at
    versions = selectors.assistant_version_list(assistant_id=created.assistant_id)
    assert [v.version for v in versions] == [2, 1]
    assert versions[1].metadata == {"a": 1, "b": 1}


def test_update_context_mirrors_into_config():
    created = services.assistant_create(graph_id="factory", context={"greeting": "a"})
    updated = services.assistant_update(assistant_id=created.assistant_id, context={"greeting": "b"})
    assert updated.context == {"greeting": "b"}
    assert updated.config == {"configurable": {"greeting": "b"}}


def test_update_unknown_assistant_is_404():
    with pytest.raises(NotFound):
        services.assistant_update(assistant_id=uuid.uuid4(), name="x")


def test_update_to_unknown_graph_is_404():
    created = services.assistant_create(graph_id="echo")
    with pytest.raises(NotFound):
        services.assistant_update(assistant_id=created.assistant_id, graph_id="nope")


def test_set_latest_restores_an_old_version_and_next_update_goes_after_the_highest():
    created = services.assistant_create(graph_id="echo", name="v1", config={"configurable": {"m": 1}})
    services.assistant_update(assistant_id=created.assistant_id, name="v2", config={"configurable": {"m": 2}})
    restored = services.assistant_set_latest(assistant_id=created.assistant_id, version=1)
    assert (restored.version, restored.name, restored.config) == (1, "v1", {"configurable": {"m": 1}})
    assert selectors.assistant_get(assistant_id=created.assistant_id).name == "v1"
    again = services.assistant_update(assistant_id=created.assistant_id, name="v3")
    assert again.version == 3


def test_set_latest_unknown_version_is_404():
    created = services.assistant_create(graph_id="echo")
    with pytest.raises(NotFound, match="Version 7 not found"):
        services.assistant_set_latest(assistant_id=created.assistant_id, version=7)


def test_delete_removes_assistant_and_versions_and_calls_hooks():
    created = services.assistant_create(graph_id="echo")
    calls = []
    services.assistant_delete_hook_register(lambda **kwargs: calls.append(kwargs))
    try:
        services.assistant_delete(assistant_id=str(created.assistant_id), delete_threads=True)
    finally:
        services.assistant_delete_hooks.pop()
    assert calls == [{"assistant_id": created.assistant_id, "delete_threads": True, "user": None}]
    assert not Assistant.objects.filter(assistant_id=created.assistant_id).exists()
    assert not AssistantVersion.objects.filter(assistant_id=created.assistant_id).exists()
    with pytest.raises(NotFound):
        services.assistant_delete(assistant_id=created.assistant_id)


def test_ensure_system_creates_one_assistant_per_graph_once():
    services.assistants_ensure_system(graph_ids=["echo", "chat"])
    services.assistants_ensure_system(graph_ids=["echo", "chat"])
    system = Assistant.objects.filter(metadata__contains={"created_by": "system"})
    assert sorted(system.values_list("graph_id", flat=True)) == ["chat", "echo"]
    echo = system.get(graph_id="echo")
    assert echo.assistant_id == system_assistant_id("echo")
    assert (echo.name, echo.version, echo.versions.count()) == ("echo", 1, 1)


@pytest.mark.django_db(transaction=True)
def test_ensure_system_is_safe_under_concurrent_callers():
    errors = []

    def ensure():
        try:
            services.assistants_ensure_system(graph_ids=["echo", "sleepy", "fail"])
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ensure) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert Assistant.objects.filter(graph_id__in=["echo", "sleepy", "fail"]).count() == 3
    assert AssistantVersion.objects.filter(assistant__graph_id__in=["echo", "sleepy", "fail"]).count() == 3


def test_ensure_system_restores_name_from_langgraph_json_as_a_new_version():
    services.assistants_ensure_system(graph_ids=["echo"])
    services.assistant_update(assistant_id=system_assistant_id("echo"), name="renamed")
    services.assistants_ensure_system(graph_ids=["echo"])
    echo = Assistant.objects.get(assistant_id=system_assistant_id("echo"))
    assert (echo.name, echo.version) == ("echo", 3)


def test_resolve_graph_name_returns_system_assistant_creating_it_if_missing():
    assistant = services.assistant_resolve(assistant_id="echo")
    assert assistant.assistant_id == uuid.uuid5(uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8"), "echo")
    assert assistant.name == "echo"
    assert assistant.metadata == {"created_by": "system"}
    assert assistant.version == 1
    assert assistant.versions.count() == 1


def test_resolve_graph_name_prefers_system_assistant_over_other_assistants_of_that_graph():
    services.assistant_create(graph_id="echo", name="first")
    assert services.assistant_resolve(assistant_id="echo").assistant_id == system_assistant_id("echo")


def test_resolve_uuid_string_returns_that_assistant():
    created = services.assistant_create(graph_id="echo")
    assert services.assistant_resolve(assistant_id=str(created.assistant_id)) == created
    assert services.assistant_resolve(assistant_id=created.assistant_id) == created


def test_resolve_unknown_uuid_is_not_found():
    with pytest.raises(NotFound):
        services.assistant_resolve(assistant_id=str(uuid.uuid4()))


def test_resolve_unknown_name_is_invalid_input_listing_registered_graphs():
    with pytest.raises(InvalidInput) as excinfo:
        services.assistant_resolve(assistant_id="nope")
    assert excinfo.value.status_code == 422
    assert excinfo.value.detail.startswith("Invalid assistant: 'nope'. Must be either:\n- A valid assistant UUID, or\n")
    assert "- One of the registered graphs: echo, interrupt," in excinfo.value.detail
