"""The `store` section of langgraph.json: validated once per process; its embeddings are loaded only when a store
is built (agentplatform.lazy)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from agentplatform.langgraph_config import ConfigError, load_config
from agentplatform.lazy import PerProcess
from store.embeddings import resolve_embeddings

DISTANCE_TYPES = ("cosine", "l2", "inner_product")
# Targets that moved: an old langgraph.json gets told the new name instead of a failed import.
_MOVED_EMBED_TARGETS = {"agentplatform.embeddings:local_minilm": "store.embeddings:local_minilm"}


def parse_store_index(raw: object) -> dict | None:
    """`store.index` validated: {"dims": int, "embed": str, "fields": [...]?, "distance_type"?, "ann_index_config"?}."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(
            'store.index must be an object like {"embed": "openai:text-embedding-3-small", "dims": 1536}.'
        )
    dims, embed = raw.get("dims"), raw.get("embed")
    if not isinstance(dims, int) or isinstance(dims, bool) or dims <= 0:
        raise ConfigError(f"store.index.dims must be a positive integer (the embedding size), got {dims!r}.")
    if not embed:
        raise ConfigError('store.index.embed is required, e.g. "store.embeddings:local_minilm".')
    if embed in _MOVED_EMBED_TARGETS:
        raise ConfigError(f'store.index.embed "{embed}" was renamed: use "{_MOVED_EMBED_TARGETS[embed]}".')
    fields = raw.get("fields")
    if fields is not None and (not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)):
        raise ConfigError('store.index.fields must be a list of JSON paths, e.g. ["$"] or ["title", "content"].')
    if raw.get("distance_type", "cosine") not in DISTANCE_TYPES:
        raise ConfigError(f"store.index.distance_type must be one of {', '.join(DISTANCE_TYPES)}.")
    return {k: v for k, v in raw.items() if k in ("dims", "embed", "fields", "distance_type", "ann_index_config")}


def parse_store_ttl(raw: object) -> dict:
    """`store.ttl` validated; expired items are always hidden from reads, even before a sweep removes them."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError('store.ttl must be an object like {"default_ttl": 60, "refresh_on_read": true}.')
    default_ttl = raw.get("default_ttl")
    if default_ttl is not None and (not isinstance(default_ttl, int | float) or default_ttl <= 0):
        raise ConfigError(f"store.ttl.default_ttl must be a positive number of minutes, got {default_ttl!r}.")
    refresh = raw.get("refresh_on_read", True)
    if not isinstance(refresh, bool):
        raise ConfigError("store.ttl.refresh_on_read must be true or false.")
    interval = raw.get("sweep_interval_minutes")
    if interval is not None and (not isinstance(interval, int | float) or interval <= 0):
        raise ConfigError("store.ttl.sweep_interval_minutes must be a positive number of minutes.")
    return {
        "refresh_on_read": refresh,
        "default_ttl": default_ttl,
        "sweep_interval_minutes": interval,
        "omit_expired": True,
    }


@dataclass(frozen=True)
class _Options:
    index: dict | None
    ttl: dict


def _read_options() -> _Options:
    section = load_config(settings.LANGGRAPH_CONFIG).store
    return _Options(parse_store_index(section.get("index")), parse_store_ttl(section.get("ttl")))


def _load_embeddings() -> object:
    base_dir = load_config(settings.LANGGRAPH_CONFIG).base_dir
    return resolve_embeddings(store_index_config()["embed"], base_dir)


_options: PerProcess[_Options] = PerProcess(_read_options)
_embeddings: PerProcess[object] = PerProcess(_load_embeddings)


def store_index_config() -> dict | None:
    """The validated `store.index` (dims, embed, fields...) or None when semantic search is off."""
    return _options.get().index


def store_ttl_config() -> dict:
    return dict(_options.get().ttl)


def store_index() -> dict | None:
    """`store.index` as LangGraph's store takes it: with the embeddings object loaded in place of its name."""
    index = store_index_config()
    return None if index is None else {**index, "embed": _embeddings.get()}
