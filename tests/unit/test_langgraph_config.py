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
