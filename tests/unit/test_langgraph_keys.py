"""Every key of the official langgraph.json schema is supported, read by install_dependencies, or refused by name."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agentplatform.langgraph_config import ConfigError, load_config
from agentplatform.langgraph_keys import KeyStatus, key_problems, key_status

ROOT = Path(__file__).resolve().parents[2]
OFFICIAL_KEYS = [
    line
    for line in (ROOT / "tests" / "fixtures" / "langgraph-json-keys-cli-0.4.40-api-0.16.7.txt").read_text().split("\n")
    if line and not line.startswith("#")
]
# Keys whose parent takes any value (auth.openapi is OpenAPI text, a graph entry is checked with the graphs).
_OPAQUE_PARENTS = ("auth.cache.", "auth.openapi.", "graphs.", "http.cors.", "http.logging_headers.", "source.")
_REFUSED_PARENTS = ("checkpointer.serde.", "encryption.", "priority.")


def _classified(key: str) -> bool:
    if key_status(key) is not None:
        return True
    return key.startswith(_OPAQUE_PARENTS) or key.startswith(_REFUSED_PARENTS)


def test_every_official_key_is_classified():
    assert [key for key in OFFICIAL_KEYS if not _classified(key)] == []


def test_every_top_level_and_section_key_is_documented_with_its_status():
    text = (ROOT / "docs" / "compatibility.md").read_text()
    listed = set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.MULTILINE))
    wanted = {key for key in OFFICIAL_KEYS if key_status(key) is not None}
    assert sorted(wanted - listed) == []


def _write(tmp_path, **sections) -> Path:
    path = tmp_path / "langgraph.json"
    path.write_text(json.dumps({"graphs": {"agent": "./agent.py:graph"}, **sections}))
    return path


@pytest.mark.parametrize(
    ("sections", "key"),
    [
        ({"checkpointer": {"path": "./cp.py:make"}}, "checkpointer.path"),
        ({"checkpointer": {"serde": {"pickle_fallback": False}}}, "checkpointer.serde"),
        ({"store": {"path": "./store.py:make"}}, "store.path"),
        ({"encryption": {"path": "./enc.py:encryption"}}, "encryption"),
        ({"ui": {"agent": "./ui.tsx"}}, "ui"),
        ({"node_version": "20"}, "node_version"),
        ({"http": {"logging_headers": {"includes": ["x-request-id"]}}}, "http.logging_headers"),
    ],
)
def test_an_unsupported_key_stops_start_up_naming_it(tmp_path, sections, key):
    with pytest.raises(ConfigError, match=rf"'{re.escape(key)}' is not supported"):
        load_config(_write(tmp_path, **sections))


def test_a_misspelt_key_is_refused_with_the_likely_one(tmp_path):
    with pytest.raises(ConfigError, match=r"'dependancies' is not a key .* Did you mean 'dependencies'\?"):
        load_config(_write(tmp_path, dependancies=["."]))


def test_a_nested_unknown_key_is_named_with_its_path(tmp_path):
    with pytest.raises(ConfigError, match=r"'checkpointer\.ttl\.stratgy'"):
        load_config(_write(tmp_path, checkpointer={"ttl": {"stratgy": "delete"}}))


def test_only_the_default_checkpointer_backend_is_accepted(tmp_path):
    load_config(_write(tmp_path, checkpointer={"backend": "default"}))
    with pytest.raises(ConfigError, match=r"'checkpointer\.backend' can only be 'default'"):
        load_config(_write(tmp_path, checkpointer={"backend": "mongo"}))


def test_a_graph_entry_takes_path_and_description_only(tmp_path):
    path = tmp_path / "langgraph.json"
    path.write_text(json.dumps({"graphs": {"agent": {"path": "./a.py:g", "config": {}}}}))
    with pytest.raises(ConfigError, match=r"Graph 'agent': 'config' is not a key of a graph entry"):
        load_config(path)


def test_build_keys_and_a_schema_reference_are_accepted(tmp_path):
    sections = {
        "$schema": "https://langgra.ph/schema.json",
        "python_version": "3.11",
        "pip_installer": "pip",
        "dockerfile_lines": ["RUN true"],
        "image_distro": "wolfi",
    }
    assert key_problems(json.loads(_write(tmp_path, **sections).read_text())) == []
    assert key_status("pip_installer") is KeyStatus.BUILD
