"""The API launcher (agentplatform/daphne_server.py): processes that share one socket and stop together."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time

from agentplatform import daphne_server

# Accepts one connection on the inherited socket, answers with its pid, then waits to be stopped.
SERVE_ONCE = (
    "import os, socket, sys, time; s = socket.socket(fileno=int(sys.argv[1])); c, _ = s.accept();"
    " c.sendall(str(os.getpid()).encode()); c.close(); time.sleep(60)"
)


def _answer(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        return int(conn.recv(32))


def test_processes_accept_connections_from_one_socket_and_stop_together_on_sigterm():
    sock = daphne_server.listening_socket("127.0.0.1", 0)
    command = [sys.executable, "-c", SERVE_ONCE, str(sock.fileno())]
    launcher = daphne_server.Launcher([command, command], pass_fds=(sock.fileno(),))
    pids: set[int] = set()

    def client() -> None:
        port = sock.getsockname()[1]
        pids.update({_answer(port), _answer(port)})
        os.kill(os.getpid(), signal.SIGTERM)  # as a supervisor stops the API

    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        threading.Thread(target=client, daemon=True).start()
        assert launcher.run() == 0
    finally:
        signal.signal(signal.SIGTERM, handlers[0])
        signal.signal(signal.SIGINT, handlers[1])
        sock.close()
    assert pids == {child.pid for child in launcher.children}
    assert all(child.poll() is not None for child in launcher.children)


def test_a_process_that_exits_stops_the_others_and_gives_its_status():
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    failing = [sys.executable, "-c", "import sys, time; time.sleep(0.5); sys.exit(3)"]
    launcher = daphne_server.Launcher([sleeper, failing])
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        started = time.monotonic()
        assert launcher.run() == 3
        assert time.monotonic() - started < 20
        assert all(child.poll() is not None for child in launcher.children)
    finally:
        signal.signal(signal.SIGTERM, handlers[0])
        signal.signal(signal.SIGINT, handlers[1])


def test_one_process_is_daphne_bound_as_given(monkeypatch):
    started: list = []
    monkeypatch.setattr(daphne_server.Launcher, "run", lambda self: started.append(self.commands) or 0)
    assert daphne_server.main(["-b", "0.0.0.0", "-p", "8123", "--processes", "1", "--proxy-headers"]) == 0
    assert started == [
        [
            [
                sys.executable,
                "-m",
                "daphne",
                "--proxy-headers",
                "-b",
                "0.0.0.0",
                "-p",
                "8123",
                daphne_server.DEFAULT_APPLICATION,
            ]
        ]
    ]
