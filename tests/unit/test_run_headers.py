"""Request headers into a run's config["configurable"], as the official server filters them."""

from __future__ import annotations

import pytest

from agentplatform.langgraph_config import ConfigError
from agentplatform.run_headers import configurable_headers, parse_header_patterns

REQUEST = {
    "user-agent": "langgraph-sdk-py/0.4",
    "x-user-id": "u-1",
    "x-organization-id": "org-7",
    "x-api-key": "secret",
    "x-tenant-id": "t-1",
    "x-service-key": "svc",
    "authorization": "Bearer token",
    "content-type": "application/json",
    "x-request-id": "req-1",
}


def _copied(section, headers=REQUEST) -> dict:
    return configurable_headers(headers, parse_header_patterns(section))


def test_without_configurable_headers_nothing_is_copied():
    assert _copied(None) == {}


def test_includes_copy_matching_headers_only():
    copied = _copied({"includes": ["x-user-id", "user-agent"]})
    assert copied == {"x-user-id": "u-1", "user-agent": "langgraph-sdk-py/0.4"}


def test_wildcard_include_never_copies_credentials_or_tenant_ids():
    copied = _copied({"includes": ["*"]})
    assert not {"x-api-key", "x-tenant-id", "x-service-key", "authorization"} & set(copied)
    assert copied["content-type"] == "application/json"
    assert copied["x-request-id"] == "req-1"


def test_credentials_are_not_copied_even_when_named_explicitly():
    copied = _copied({"includes": ["x-api-key", "authorization", "x-tenant-id"]})
    assert copied == {}


def test_excludes_win_over_includes():
    copied = _copied({"includes": ["x-*"], "excludes": ["x-organization-*"]})
    assert copied == {"x-user-id": "u-1", "x-request-id": "req-1"}


def test_excludes_alone_copy_nothing():
    assert _copied({"excludes": ["x-organization-id"]}) == {}


def test_singular_aliases_are_accepted():
    copied = _copied(
        {"include": ["my-prefix-*"], "exclude": ["my-prefix-secret"]}, {"my-prefix-a": "1", "my-prefix-secret": "2"}
    )
    assert copied == {"my-prefix-a": "1"}


def test_patterns_are_literal_apart_from_the_star():
    copied = _copied({"includes": ["x-.+"]}, {"x-.+": "literal", "x-user": "no"})
    assert copied == {"x-.+": "literal"}


def test_patterns_match_lower_case_names_whatever_case_the_config_uses():
    assert _copied({"includes": ["X-User-Id"]})["x-user-id"] == "u-1"


def test_langsmith_trace_and_its_baggage_are_always_copied():
    headers = {
        "langsmith-trace": "20240101T000000000001Zabc",
        "baggage": "langsmith-metadata=%7B%22a%22%3A%201%7D,langsmith-tags=t1,langsmith-project=proj,other=x",
    }
    copied = _copied(None, headers)
    assert copied == {
        "langsmith-trace": "20240101T000000000001Zabc",
        "langsmith-metadata": {"a": 1},
        "langsmith-tags": ["t1"],
        "langsmith-project": "proj",
    }


def test_malformed_baggage_metadata_is_skipped():
    copied = _copied(None, {"langsmith-trace": "t", "baggage": "langsmith-metadata=[1]"})
    assert copied == {"langsmith-trace": "t"}


@pytest.mark.parametrize("section", [["x-*"], {"includes": "x-*"}, {"excludes": [1]}])
def test_malformed_configurable_headers_is_a_config_error(section):
    with pytest.raises(ConfigError, match=r"http\.configurable_headers"):
        parse_header_patterns(section)


def test_a_run_gets_the_request_id_and_a_cron_run_none(settings):
    from agentplatform.run_headers import run_configurable_headers

    assert run_configurable_headers({"x-request-id": "req-9"}) == {"langgraph_request_id": "req-9"}
    assert run_configurable_headers(None) == {"langgraph_request_id": None}


def test_manage_py_check_names_a_malformed_configurable_headers(tmp_path, settings):
    from agentplatform import run_headers
    from agentplatform.checks import langgraph_config_check

    config = tmp_path / "langgraph.json"
    (tmp_path / "g.py").write_text(
        "from langgraph.graph import START, StateGraph\nfrom typing_extensions import TypedDict\n"
        "class S(TypedDict):\n    x: int\n"
        "graph = StateGraph(S).add_node('a', lambda s: s).add_edge(START, 'a').compile()\n"
    )
    config.write_text('{"graphs": {"g": "./g.py:graph"}, "http": {"configurable_headers": {"includes": "x-*"}}}')
    settings.LANGGRAPH_CONFIG = str(config)
    run_headers._patterns_once.close()
    try:
        errors = langgraph_config_check(None)
    finally:
        run_headers._patterns_once.close()
    assert [error.id for error in errors] == ["agentplatform.E001"]
    assert "http.configurable_headers.includes" in errors[0].msg
