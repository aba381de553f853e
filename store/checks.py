"""An index in langgraph.json needs pgvector: say so before anything starts, not at the first search."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.db import connections

from agentplatform.langgraph_config import ConfigError, load_config
from store.backend import PGVECTOR_MISSING, PGVECTOR_QUERY
from store.config import store_index_config, store_ttl_config
from store.embeddings import LOCAL_MINILM_TARGET, local_minilm_missing


@register()
def store_config_check(app_configs, **kwargs) -> list[CheckMessage]:
    try:
        load_config(settings.LANGGRAPH_CONFIG)
    except ConfigError:
        return []  # langgraph.json itself is unusable (store.path included): agentplatform.E001 says so
    try:
        index = store_index_config()
        store_ttl_config()
    except ConfigError as exc:
        return [Error(str(exc), hint="Fix the store section of langgraph.json.", id="store.E001")]
    if index and index.get("embed") == LOCAL_MINILM_TARGET and (missing := local_minilm_missing()):
        return [Error(missing, id="store.E003")]
    return []


@register(Tags.database)
def pgvector_check(app_configs, databases=None, **kwargs) -> list[Error]:
    """Runs with `migrate` and `check --database default` (database checks need a connection)."""
    try:
        if not databases or store_index_config() is None:
            return []
    except ConfigError:
        return []  # reported by store_config_check
    return [Error(PGVECTOR_MISSING, id="store.E002") for alias in databases if not has_pgvector(alias)]


def has_pgvector(alias: str) -> bool:
    with connections[alias].cursor() as cursor:
        cursor.execute(PGVECTOR_QUERY)
        return cursor.fetchone() is not None
