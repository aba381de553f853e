"""Start throwaway PostgreSQL and Redis before Django's settings are read, unless DATABASE_URI/REDIS_URI are set.

Loaded with `-p tests.services_plugin` so it runs before pytest-django imports the settings.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import pytest

from agentplatform.embedded import EmbeddedPostgres, EmbeddedRedis, free_port, remove_data

_started: list = []
_tmp: list[Path] = []


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    root = Path(tempfile.mkdtemp(prefix="agentplatform-test-"))
    _tmp.append(root)
    os.environ.setdefault("AGENTPLATFORM_DATA_DIR", str(root))
    # DEBUG is off in tests, as in production: the public development key would be refused (agentplatform.E003).
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(32))
    os.environ.setdefault("LANGGRAPH_CONFIG", str(Path(__file__).parent / "graphs" / "langgraph.json"))
    if not (os.environ.get("DATABASE_URI") or os.environ.get("POSTGRES_URI")):
        pg = EmbeddedPostgres(root / "postgres", free_port(), durable=False).start()
        _started.append(pg)
        os.environ["DATABASE_URI"] = pg.uri
    if not os.environ.get("REDIS_URI"):
        redis = EmbeddedRedis(root / "redis", free_port()).start()
        _started.append(redis)
        os.environ["REDIS_URI"] = redis.uri


def pytest_unconfigure(config):
    while _started:
        _started.pop().stop()
    for path in _tmp:
        remove_data(path)
