import json

import pytest

from agentplatform.langgraph_config import ConfigError, load_config


def write(tmp_path, data):
    path = tmp_path / "langgraph.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_graph_paths_and_env_file_are_read(tmp_path):
    (tmp_path / ".env").write_text("A=1\nexport B='two'\n# comment\n")
    config = load_config(
        write(tmp_path, {"graphs": {"g": {"path": "./g.py:graph", "description": "d"}}, "env": ".env"})
    )
    assert config.graphs["g"].target == "./g.py:graph"
    assert config.graphs["g"].description == "d"
    assert config.env == {"A": "1", "B": "two"}


def test_missing_file_says_to_set_langgraph_config(tmp_path):
    with pytest.raises(ConfigError, match="LANGGRAPH_CONFIG"):
        load_config(tmp_path / "nope.json")


def test_broken_json_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(write(tmp_path, "{graphs"))


def test_graph_without_attribute_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="Graph 'g'"):
        load_config(write(tmp_path, {"graphs": {"g": "./g.py"}}))


def test_empty_graphs_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="non-empty"):
        load_config(write(tmp_path, {"graphs": {}}))


def test_sweep_intervals_are_read_from_the_ttl_sections(tmp_path):
    from agentplatform.langgraph_config import sweep_interval_seconds

    path = tmp_path / "langgraph.json"
    path.write_text('{"checkpointer": {"ttl": {"sweep_interval_minutes": 2}}, "store": {"ttl": {}}}')
    assert sweep_interval_seconds(path, "checkpointer") == 120.0
    assert sweep_interval_seconds(path, "store") is None
    assert sweep_interval_seconds(tmp_path / "missing.json", "store") is None


def test_langgraph_thread_ttl_is_minutes_or_an_object():
    from agentplatform.langgraph_config import thread_ttl_from_env

    assert thread_ttl_from_env("60") == {"strategy": "delete", "default_ttl": 60.0}
    assert thread_ttl_from_env('{"strategy": "keep_latest", "default_ttl": 5}')["strategy"] == "keep_latest"
    assert thread_ttl_from_env("") is None
    with pytest.raises(ConfigError, match="LANGGRAPH_THREAD_TTL"):
        thread_ttl_from_env("soon")
