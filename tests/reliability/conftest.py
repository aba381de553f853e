"""The fault suite's stack: Daphne, beat and the workers a case starts, on a PostgreSQL and a Redis of its own
(cases restart them), with a 2 s lease so that recovery happens within a test's time.

`RELIABILITY_LONG=1 python -m pytest tests/reliability -s` runs the long form: more runs, more faults.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import redis as redis_lib
from langgraph_sdk import get_sync_client

from agentplatform.embedded import EmbeddedPostgres, EmbeddedRedis, _pg_bin, free_port
from tests.conftest import INTEGRATION_ENV
from tests.stack import Stack, with_database

LONG = os.environ.get("RELIABILITY_LONG", "") not in ("", "0", "false")

FAULT_ENV = {
    **INTEGRATION_ENV,
    "BG_JOB_HEARTBEAT": "2",
    "PENDING_RUN_RESEND_SECS": "2",
    # A run may be hit by several faults in a row; the suite checks that it still ends exactly once, successfully.
    "BG_JOB_MAX_RETRIES": "20",
}


@dataclass
class FaultStack:
    stack: Stack
    postgres: EmbeddedPostgres
    redis: EmbeddedRedis

    @property
    def client(self):
        return get_sync_client(url=self.stack.url, timeout=30)

    def redis_client(self) -> redis_lib.Redis:
        return redis_lib.Redis.from_url(self.redis.uri)

    def workers(self) -> list[str]:
        return [name for name in self.stack.processes if name not in ("daphne", "beat")]

    def worker_of(self, run_id: str) -> str | None:
        """The name of the worker process holding the run's lease, if one of ours does."""
        rows = self.stack.sql("SELECT lease_owner FROM runs_run WHERE run_id = %s AND status = 'running'", (run_id,))
        if not rows or not rows[0][0]:
            return None
        pid = int(rows[0][0].split(":")[1])
        return next((name for name, proc in self.stack.processes.items() if proc.pid == pid), None)

    def start_workers(self, *names: str, extra_env: dict | None = None) -> None:
        """Start workers side by side (each takes seconds to be ready); raises if one does not start."""
        with ThreadPoolExecutor(len(names)) as pool:
            for started in [pool.submit(self.stack.start_worker, name, extra_env) for name in names]:
                started.result()

    def stop_workers(self) -> None:
        # SIGKILL: quick, and a case's leftovers are never waited for; a paused worker dies as well.
        for name in self.workers():
            self.stack.stop(name, signal.SIGKILL)


def kill_all(stack: Stack) -> None:
    """Stop a stack once its cases are over with SIGKILL: a warm shutdown proves nothing there and costs seconds
    (workers finish their tasks, beat and Daphne close theirs)."""
    for name in list(stack.processes):
        stack.stop(name, signal.SIGKILL)


def create_database_from_session(stack: Stack, server_uri: str) -> None:
    """Give `stack` a migrated database on `server_uri` (a server of the suite's own, which cases restart): the
    session server's migrated template (tests/stack.py) dumped and restored, in about half a second where a
    `migrate` on the new server took ten."""
    stack.create_database()  # on the session server, a copy of its template
    copy, name = stack.database_uri, f"faults_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_uri, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    target = with_database(server_uri, name)
    dump = subprocess.run([str(_pg_bin() / "pg_dump"), "-Fc", "-d", copy], capture_output=True, check=True).stdout
    restore = [str(_pg_bin() / "pg_restore"), "--no-owner", "--no-privileges", "-d", target]
    subprocess.run(restore, input=dump, capture_output=True, check=True)
    with psycopg.connect(os.environ["DATABASE_URI"], autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{urlsplit(copy).path.lstrip("/")}"')
    stack.database_uri = target


@pytest.fixture(scope="package")
def fault_stack():
    root = Path(tempfile.mkdtemp(prefix="agentplatform-faults-"))
    postgres = EmbeddedPostgres(root / "postgres", free_port(), durable=False).start()
    redis = EmbeddedRedis(root / "redis", free_port()).start()
    stack = Stack(base_env={**FAULT_ENV, "REDIS_URI": redis.uri}, log_dir=root)
    create_database_from_session(stack, postgres.uri)
    stack.start_api()
    stack.start_beat()
    yield FaultStack(stack, postgres, redis)
    kill_all(stack)
    postgres.stop()
    redis.stop()


@pytest.fixture
def faults(fault_stack):
    """The package's stack for one case; the workers the case started are stopped after it."""
    yield fault_stack
    fault_stack.stop_workers()
