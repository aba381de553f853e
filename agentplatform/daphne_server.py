"""How the API serves HTTP under Daphne: tuned for a JSON API, and as several processes sharing one socket.

Daphne is one process, and a Python process runs Python on one core at a time: an API that spends a few
milliseconds of CPU on each request tops out at a few hundred requests a second however many cores the machine
has. `python -m agentplatform.daphne_server --processes N [daphne options] [application]` binds the listening
socket itself, then starts N Daphne processes that accept connections from it (the kernel hands each new
connection to one of them) and watches them:

- SIGTERM or SIGINT stops them all (each finishes as Daphne does on SIGTERM) and then the launcher;
- a process that exits by itself stops the others too and the launcher exits with its status, so a supervisor
  (compose, Kubernetes, `manage.py dev`) restarts the API as it would restart a plain Daphne: a start-up that
  fails (exit status 3 for a failed `http.app` lifespan) is reported, not retried in a loop.

With `--processes 1` (the default, or API_PROCESSES) the API is exactly one Daphne bound as `daphne -b -p` binds;
with more, the address must be IPv4 (Twisted adopts inherited IPv4 sockets only), and the processes share a folder
for their /metrics figures (`shared_metrics_dir`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

DEFAULT_APPLICATION = "agentplatform.asgi:application"
STOP_TIMEOUT_SECS = 30.0


def tune_daphne() -> None:
    """Requests skip Twisted's form parsing: every POST with a body had its Content-Type parsed with the `email`
    package, in case it was a form upload, and the API only reads the raw body, as JSON. Does nothing when
    another ASGI server imports the application."""
    try:
        from daphne import http_protocol
    except ImportError:
        return
    if getattr(http_protocol.WebRequest, "parses_forms", True) is False:
        return

    class JsonApiRequest(http_protocol.WebRequest):
        parses_forms = False

        def __init__(self, *args, **kwargs) -> None:
            kwargs.setdefault("parsePOSTFormSubmission", False)
            super().__init__(*args, **kwargs)

    # Daphne's protocol factory looks the request class up in its module each time a connection opens.
    http_protocol.WebRequest = JsonApiRequest


def listening_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """An IPv4 TCP socket listening on host:port, inheritable by the Daphne processes (Twisted's `fd:` endpoint
    adopts IPv4 sockets only)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


class Launcher:
    """Daphne processes (`commands`), stopped together; `run()` returns the exit status of the API."""

    def __init__(self, commands: list[list[str]], pass_fds: tuple[int, ...] = ()) -> None:
        self.commands, self.pass_fds = commands, pass_fds
        self.children: list[subprocess.Popen] = []
        self.stopping = False

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self.children = [subprocess.Popen(command, pass_fds=self.pass_fds) for command in self.commands]
        status = 0
        while not self.stopping:
            exited = next((child for child in self.children if child.poll() is not None), None)
            if exited is not None:
                status = exited.returncode
                break
            time.sleep(0.2)
        self._stop_children()
        return status

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _stop_children(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECS
        for child in self.children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-b", "--bind", default="127.0.0.1", help="address to listen on")
    parser.add_argument("-p", "--port", type=int, default=8000)
    parser.add_argument(
        "--processes", type=int, default=int(os.environ.get("API_PROCESSES", "1")), help="Daphne processes"
    )
    args, rest = parser.parse_known_args(argv)
    application = rest.pop() if rest and ":" in rest[-1] and not rest[-1].startswith("-") else DEFAULT_APPLICATION
    daphne = [sys.executable, "-m", "daphne", *rest]
    if args.processes <= 1:  # one Daphne on its own socket, exactly as `daphne -b -p` runs
        return Launcher([[*daphne, "-b", args.bind, "-p", str(args.port), application]]).run()
    sock = listening_socket(args.bind, args.port)
    command = [*daphne, "-e", f"fd:fileno={sock.fileno()}", application]
    with shared_metrics_dir():
        return Launcher([command] * args.processes, pass_fds=(sock.fileno(),)).run()


@contextlib.contextmanager
def shared_metrics_dir() -> Iterator[None]:
    """A scrape reaches one of the processes: in a folder of their own, prometheus_client's multiprocess mode keeps
    the figures of each, and every scrape reports them all (agentplatform.telemetry.metrics). An operator's own
    PROMETHEUS_MULTIPROC_DIR is used as it is."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="agentplatform-metrics-") as directory:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        try:
            yield
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


if __name__ == "__main__":
    sys.exit(main())
