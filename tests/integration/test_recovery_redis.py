"""A Redis restart loses every queued Celery message; the sweeper must still get every pending run done.

Uses its own Redis and stack, since it restarts Redis under them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import redis as redis_lib
from langgraph_sdk import get_sync_client

from agentplatform.embedded import EmbeddedRedis, free_port
from tests.conftest import INTEGRATION_ENV
from tests.stack import Stack

pytestmark = pytest.mark.integration


@pytest.fixture
def own_stack():
    root = Path(tempfile.mkdtemp(prefix="agentplatform-redis-restart-"))
    redis = EmbeddedRedis(root / "redis", free_port()).start()
    stack = Stack(base_env={**INTEGRATION_ENV, "REDIS_URI": redis.uri}, log_dir=root)
    stack.create_database()
    stack.start_api()
    stack.start_beat()
    yield stack, redis
    stack.stop_all()
    redis.stop()


def test_runs_pending_across_a_redis_restart_all_complete(own_stack):
    stack, redis = own_stack
    client = get_sync_client(url=stack.url)
    threads = [client.threads.create()["thread_id"] for _ in range(2)]
    # No worker yet: the runs stay pending and their Celery messages wait in Redis...
    runs = [(t, client.runs.create(t, "echo", input={"value": f"{t}-{i}"})) for t in threads for i in range(2)]
    # ...until Redis restarts without persistence, and every message is gone.
    queued = redis_lib.Redis.from_url(redis.uri)
    assert queued.llen("agentplatform") >= len(runs)
    redis.stop()
    redis.start()
    assert queued.llen("agentplatform") == 0
    stack.start_worker()
    for thread_id, run in runs:
        client.runs.join(thread_id, run["run_id"])
    statuses = [client.runs.get(thread_id, run["run_id"])["status"] for thread_id, run in runs]
    assert statuses == ["success"] * 4
    for thread_id in threads:
        assert client.threads.get_state(thread_id)["values"]["count"] == 2
    print(f"redis restart: {len(runs)} pending runs, {statuses.count('success')} completed, 0 lost")
