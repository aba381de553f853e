"""`manage.py dev` (README command 1) beside another PostgreSQL and Redis on the embedded default ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from agentplatform.embedded import free_port, remove_data
from tests.stack import ROOT

pytestmark = pytest.mark.integration

DEFAULT_PORTS = (55432, 56379)  # settings' AGENTPLATFORM_PG_PORT / AGENTPLATFORM_REDIS_PORT defaults


def _hold(port: int, stack: ExitStack) -> None:
    """Listen on `port` like another program's server would, unless something else already does."""
    sock = stack.enter_context(socket.socket())
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        return  # taken already, which is the case under test
    sock.listen()


def _wait_for_text(path: Path, needle: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while needle not in path.read_text(errors="replace"):
        assert proc.poll() is None, f"manage.py dev exited with {proc.returncode}:\n{path.read_text()[-4000:]}"
        assert time.monotonic() < deadline, f"{needle!r} not printed within {timeout}s:\n{path.read_text()[-4000:]}"
        time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # dev stops its children and its embedded services
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def data_root():
    """Outside pytest's tmp_path, which a concurrent pytest session can make untraversable for postgres's user."""
    root = Path(tempfile.mkdtemp(prefix="agentplatform-dev-"))
    yield root
    remove_data(root)


def test_dev_starts_its_own_services_when_the_default_ports_are_taken(data_root):
    data_dir, log, port = data_root / "data", data_root / "dev.log", free_port()
    unset = {"DATABASE_URI", "POSTGRES_URI", "REDIS_URI", "AGENTPLATFORM_PG_PORT", "AGENTPLATFORM_REDIS_PORT"}
    env = {k: v for k, v in os.environ.items() if k not in unset} | {"AGENTPLATFORM_DATA_DIR": str(data_dir)}
    with ExitStack() as held, log.open("wb") as out:
        for taken in DEFAULT_PORTS:
            _hold(taken, held)
        args = [sys.executable, "manage.py", "dev", "--port", str(port)]
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_for_text(log, "agentplatform is ready", proc, timeout=150)
            assert httpx.get(f"http://127.0.0.1:{port}/ok", timeout=10).status_code == 200
            deadline = time.monotonic() + 30
            while not list(data_dir.glob("celerybeat-schedule*")):  # beat is up and writing its schedule
                assert time.monotonic() < deadline, log.read_text()[-4000:]
                time.sleep(0.2)
            time.sleep(2)  # beat died on its schedule file at once: it and the command must still be running
            assert proc.poll() is None, log.read_text()[-4000:]
        finally:
            _stop(proc)
    text = log.read_text()
    for taken in DEFAULT_PORTS:
        assert f"port {taken} was in use by another process" in text
    assert (data_dir / "postgres" / "pgdata" / "PG_VERSION").exists()
