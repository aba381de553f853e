from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.stack import Stack, redis_database

# Integration processes use short lease windows so recovery paths run within a test's time.
INTEGRATION_ENV = {
    "BG_JOB_HEARTBEAT": "4",
    "PENDING_RUN_RESEND_SECS": "2",
    "N_JOBS_PER_WORKER": "10",
    "LANGGRAPH_CONFIG": os.environ["LANGGRAPH_CONFIG"],
}


def _running_stack(env: dict, prefix: str):
    """Daphne + one Celery worker + beat on a fresh database, stopped after the session."""
    s = Stack(base_env=env, log_dir=Path(tempfile.mkdtemp(prefix=prefix)))
    s.create_database()
    s.start_api_and_workers("worker")
    s.start_beat()
    yield s
    s.stop_all()


@pytest.fixture(scope="session")
def stack():
    """The stack shared by the integration tests (no authentication)."""
    yield from _running_stack(INTEGRATION_ENV, "agentplatform-it-")


AUTH_CONFIG = Path(__file__).parent / "graphs" / "langgraph_auth.json"
# Custom auth (tests/graphs/auth.py) and built-in API keys together, as docs/auth.md describes them composing.
AUTH_ENV = {
    **INTEGRATION_ENV,
    "LANGGRAPH_CONFIG": str(AUTH_CONFIG),
    "AGENTPLATFORM_API_KEYS": "true",
    "CRON_SCHEDULER_SLEEP_TIME": "1",
}


@pytest.fixture(scope="session")
def auth_stack():
    """A second stack (own database, Redis database and processes) that authenticates every request: the auth
    tests. Sharing the session stack's Celery queue, its worker took that stack's doorbells (whose runs it cannot
    find), so runs there waited forever."""
    yield from _running_stack({**AUTH_ENV, "REDIS_URI": redis_database(5)}, "agentplatform-auth-")


@pytest.fixture
def client(stack):
    from langgraph_sdk import get_sync_client

    return get_sync_client(url=stack.url)


@pytest.fixture
def aclient(stack):
    from langgraph_sdk import get_client

    return get_client(url=stack.url)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """Close the store and checkpointer pools before pytest-django drops the test database."""
    yield
    from agentplatform.persistence import close_sync_checkpointer
    from store.backend import close_sync_store

    close_sync_store()
    close_sync_checkpointer()


@pytest.fixture
def use_auth(tmp_path, settings):
    """use_auth(source, **auth_section): langgraph.json's `auth` names an auth.py made of `source`
    (tests/access_support.py); the loaded auth is forgotten after the test."""
    from access.custom_auth import reset_custom_auth
    from tests.access_support import install_auth

    yield lambda source, **section: install_auth(tmp_path, settings, source, **section)
    reset_custom_auth()
