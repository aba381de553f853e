"""A real agentplatform stack for integration tests: Daphne and Celery processes on their own database."""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

from agentplatform.embedded import free_port

ROOT = Path(__file__).resolve().parent.parent
_SECRET_KEY = secrets.token_urlsafe(32)
_MIGRATED_TEMPLATES: set[str] = set()


def with_database(uri: str, name: str) -> str:
    """`uri` naming database `name` on the same server."""
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass
class Stack:
    """Processes share one database (created fresh) and the session's Redis; `env` overrides their settings."""

    base_env: dict
    log_dir: Path
    url: str = ""
    database_uri: str = ""
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def env(self, extra: dict | None = None) -> dict:
        # A key of its own unless one is set: DEBUG is off and the development key is refused (agentplatform.E003).
        defaults = {"DJANGO_SECRET_KEY": _SECRET_KEY}
        return {**defaults, **os.environ, **self.base_env, "DATABASE_URI": self.database_uri, **(extra or {})}

    def create_database(self, admin_uri: str | None = None) -> None:
        """A fresh database on `admin_uri`'s server (default: the session's DATABASE_URI), migrated: copied from a
        template migrated once per server and langgraph.json (the store's tables follow its `store.index`), since
        a `migrate` costs a stack about six seconds and the suite starts some thirty stacks."""
        admin_uri = admin_uri or os.environ["DATABASE_URI"]
        template = self._migrated_template(admin_uri)
        name = f"it_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self.database_uri = with_database(admin_uri, name)

    def _migrated_template(self, admin_uri: str) -> str:
        config = Path(self.env().get("LANGGRAPH_CONFIG", ""))
        identity = f"{admin_uri}|{config}|{config.read_text() if config.is_file() else ''}"
        template = f"tmpl_{hashlib.sha256(identity.encode()).hexdigest()[:12]}"
        if template not in _MIGRATED_TEMPLATES:
            with psycopg.connect(admin_uri, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{template}"')
                conn.execute(f'CREATE DATABASE "{template}"')
            self.database_uri = with_database(admin_uri, template)
            self.manage("migrate", "--noinput")  # its connections are gone when it exits: the copy needs that
            _MIGRATED_TEMPLATES.add(template)
        return template

    def manage(self, *args: str, extra_env: dict | None = None) -> None:
        env = self.env(extra_env)
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)

    def _spawn(self, name: str, args: list[str], extra_env: dict | None = None) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        proc = subprocess.Popen(
            args, cwd=ROOT, env=self.env(extra_env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = proc
        return proc

    def start_api(self, extra_env: dict | None = None) -> None:
        port = free_port()
        self._spawn(
            "daphne",
            # Daphne through the launcher operators use (API_PROCESSES Daphne processes on one socket, default 1).
            [sys.executable, "-m", "agentplatform.daphne_server", "-b", "127.0.0.1", "-p", str(port)],
            extra_env,
        )
        self.url = f"http://127.0.0.1:{port}"
        _wait_http(f"{self.url}/ok", self.processes["daphne"], self.log_dir / "daphne.log")

    def start_worker(
        self, name: str = "worker", extra_env: dict | None = None, *, wait: bool = True, wrap: tuple[str, ...] = ()
    ) -> subprocess.Popen:
        """`wrap` runs the worker through another command (e.g. `ip netns exec <name>`, which execs it). Keyword-only:
        a tuple passed third once landed in `wait`, and the worker ran outside its network namespace."""
        args = [
            *wrap,
            sys.executable,
            "-m",
            "celery",
            "-A",
            "agentplatform",
            "worker",
            "-l",
            "info",
            "-n",
            f"{name}-{uuid.uuid4().hex[:6]}@%h",
            "--without-gossip",
            "--without-mingle",
        ]
        proc = self._spawn(name, args, extra_env)
        if wait:
            self.wait_ready(name)
        return proc

    def start_api_and_workers(self, *workers: str, worker_env: dict | None = None) -> None:
        """Daphne and the workers side by side: each process takes seconds to import Django and the graphs."""
        for name in workers:
            self.start_worker(name, worker_env, wait=False)
        self.start_api()
        for name in workers:
            self.wait_ready(name)

    def wait_ready(self, name: str) -> None:
        """Until the worker `name` consumes (workers started with wait=False start side by side)."""
        _wait_log(self.log_dir / f"{name}.log", "ready.", self.processes[name])

    def start_beat(self, name: str = "beat", extra_env: dict | None = None) -> subprocess.Popen:
        schedule = self.log_dir / f"{name}-schedule"
        args = [sys.executable, "-m", "celery", "-A", "agentplatform", "beat", "-l", "info", "-s", str(schedule)]
        return self._spawn(name, args, extra_env)

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        proc = self.processes.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, sig)
        _wait_or_kill(proc, timeout)

    def stop_all(self, timeout: float = 30) -> None:
        """SIGTERM to every process at once (each worker's warm shutdown takes seconds), then wait for each."""
        running = [proc for proc in self.processes.values() if proc.poll() is None]
        self.processes.clear()
        for proc in running:
            os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in running:
            _wait_or_kill(proc, max(0.1, deadline - time.monotonic()))

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.database_uri, autocommit=True) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []


def redis_database(number: int) -> str:
    """The session's Redis server, database `number`: a stack beside another needs its own, since a Celery queue
    shared by two stacks lets each one's worker take (and drop) the other's doorbells."""
    return os.environ["REDIS_URI"].rsplit("/", 1)[0] + f"/{number}"


def separate_stack(base_env: dict, *, langgraph_config: Path, redis_db: int, prefix: str) -> Stack:
    """A migrated database with Daphne and one worker for another langgraph.json, on Redis database `redis_db`."""
    env = {**base_env, "LANGGRAPH_CONFIG": str(langgraph_config), "REDIS_URI": redis_database(redis_db)}
    stack = Stack(base_env=env, log_dir=Path(tempfile.mkdtemp(prefix=prefix)))
    stack.create_database()
    stack.start_api_and_workers("worker")
    return stack


def _wait_or_kill(proc: subprocess.Popen, timeout: float) -> None:
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited ({proc.returncode}):\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready in {timeout}s:\n{log.read_text()[-4000:]}")


def _wait_log(log: Path, needle: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited ({proc.returncode}):\n{log.read_text()[-4000:]}")
        if log.exists() and needle in log.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{needle!r} not seen in {log} within {timeout}s:\n{log.read_text()[-4000:]}")


def wait_for(predicate, timeout: float = 60, what: str = "condition", every: float = 0.05):
    """predicate()'s first truthy value, polled every `every` s; AssertionError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what} not reached within {timeout}s")
