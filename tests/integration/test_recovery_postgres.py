"""A PostgreSQL restart in the middle of a run (reliability.md §5): the attempt fails on its checkpoint writes, is
released or swept, and resumes from its last checkpoint; the run still ends once, with the right state.

Uses its own PostgreSQL (and Redis database), since it restarts PostgreSQL under the stack.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest
from langgraph_sdk import get_sync_client

from agentplatform.embedded import EmbeddedPostgres, free_port
from tests.conftest import INTEGRATION_ENV
from tests.integration.test_recovery import assert_no_overlap, logged_input, read_log, wait_for
from tests.stack import Stack

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_stack(monkeypatch):
    root = Path(tempfile.mkdtemp(prefix="agentplatform-pg-restart-"))
    postgres = EmbeddedPostgres(root / "postgres", free_port(), durable=False).start()
    monkeypatch.setenv("DATABASE_URI", postgres.uri)  # Stack creates its database on this server
    redis_uri = os.environ["REDIS_URI"].rsplit("/", 1)[0] + "/8"
    stack = Stack(base_env={**INTEGRATION_ENV, "REDIS_URI": redis_uri}, log_dir=root)
    stack.create_database()
    stack.start_api_and_workers("worker")
    stack.start_beat()
    yield stack, postgres
    stack.stop_all()
    postgres.stop()


def _join_after_outage(client, thread_id: str, run_id: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            run = client.runs.get(thread_id, run_id)
            if run["status"] not in ("pending", "running"):
                return run
        except Exception:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.3)


def test_run_survives_a_postgres_restart_mid_run(pg_stack, tmp_path):
    stack, postgres = pg_stack
    client = get_sync_client(url=stack.url)
    log = tmp_path / "exec.jsonl"
    thread_id = client.threads.create()["thread_id"]
    run = client.runs.create(thread_id, "logged", input=logged_input(log, 8, 0.4), durability="sync")
    wait_for(lambda: len(read_log(log)) >= 2, what="two steps executed")
    postgres.stop()
    time.sleep(1)
    postgres.start()
    final = _join_after_outage(client, thread_id, run["run_id"])
    assert final["status"] == "success"
    assert client.threads.get_state(thread_id)["values"]["counter"] == 8
    lines = read_log(log)
    steps = sorted(line["step"] for line in lines)
    assert set(steps) == set(range(8))
    assert len(steps) <= 9, "at most the step in flight at the restart ran twice"
    assert_no_overlap(lines)
    attempts = stack.sql("SELECT attempt FROM runs_run WHERE run_id = %s", (run["run_id"],))[0][0]
    print(f"postgres restart: run ended success after {attempts} attempt(s), {len(steps) - 8} re-executed step(s)")
