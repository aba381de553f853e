"""Parsing of langgraph.json `store.index` and resolution of `embed` targets."""

import re
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from agentplatform.langgraph_config import ConfigError
from store.config import parse_store_index
from store.embeddings import LocalMiniLMEmbeddings, resolve_embeddings


def test_index_keeps_known_keys_and_drops_the_rest():
    raw = {"embed": "x:y", "dims": 8, "fields": ["text"], "distance_type": "l2", "junk": 1}
    assert parse_store_index(raw) == {"embed": "x:y", "dims": 8, "fields": ["text"], "distance_type": "l2"}
    assert parse_store_index(None) is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"embed": "x:y"}, "dims"),
        ({"embed": "x:y", "dims": 0}, "dims"),
        ({"dims": 4}, "embed"),
        ({"embed": "x:y", "dims": 4, "fields": "text"}, "fields"),
        ({"embed": "x:y", "dims": 4, "distance_type": "manhattan"}, "distance_type"),
        ("openai", "object"),
    ],
)
def test_bad_index_is_refused_with_the_field_named(raw, message):
    with pytest.raises(ConfigError, match=message):
        parse_store_index(raw)


def test_the_old_name_of_the_local_model_is_refused_with_its_new_name():
    with pytest.raises(ConfigError, match=re.escape('use "store.embeddings:local_minilm"')):
        parse_store_index({"embed": "agentplatform.embeddings:local_minilm", "dims": 384})


def test_module_attribute_resolves_to_the_local_model_without_loading_it():
    embeddings = resolve_embeddings("store.embeddings:local_minilm", Path("."))
    assert isinstance(embeddings, LocalMiniLMEmbeddings)
    assert embeddings._model is None


def test_file_function_is_wrapped_as_embeddings(tmp_path):
    (tmp_path / "emb.py").write_text("def embed(texts):\n    return [[float(len(t)), 1.0] for t in texts]\n")
    embeddings = resolve_embeddings("./emb.py:embed", tmp_path)
    assert isinstance(embeddings, Embeddings)
    assert embeddings.embed_query("abc") == [3.0, 1.0]


def test_missing_file_and_unknown_provider_say_how_to_fix(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_embeddings("./nope.py:embed", tmp_path)
    with pytest.raises(ConfigError, match="provider"):
        resolve_embeddings("no_such_provider_xyz:model-1", tmp_path)
