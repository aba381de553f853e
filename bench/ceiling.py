"""What the benchmark's client can drive at all on this machine: the `threads.create` and `runs.create` loops of
the burst figure against a server that does no work (canned answers, one Daphne process).

Both the client and the servers share the machine's cores, and the SDK client spends 1-2 ms of CPU a request in
its one process: with 64 requests in flight, it alone bounds a rate figure at about the inverse of that. A server's
figure near this ceiling is the client's, not the server's. Measured in the same command as the servers.

    python bench/ceiling.py            # the ceiling alone
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentplatform.embedded import free_port
from bench import log
from bench.figures import NOOP_INPUT, QUICK, Profile, bounded, client_for
from bench.procs import cpu_seconds
from bench.servers import ROOT
from tests.stack import _wait_http

_STAMP = "2026-01-01T00:00:00+00:00"


def _thread(thread_id: str) -> dict:
    return {"thread_id": thread_id, "created_at": _STAMP, "updated_at": _STAMP, "metadata": {}, "status": "idle"}


def _run(thread_id: str) -> dict:
    run = {"run_id": str(uuid.uuid4()), "thread_id": thread_id, "assistant_id": str(uuid.uuid4())}
    return {**run, "created_at": _STAMP, "updated_at": _STAMP, "status": "pending", "metadata": {}}


async def application(scope, receive, send) -> None:
    """Canned JSON for `POST /threads` and `POST /threads/{id}/runs`, `{"ok": true}` for `/ok` (the readiness
    probe); 404 for anything else. Reads the body first, as a real server must."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    parts = scope["path"].strip("/").split("/")
    if parts == ["ok"]:
        status, answer = 200, {"ok": True}
    elif parts == ["threads"]:
        status, answer = 200, _thread(str(uuid.uuid4()))
    elif len(parts) == 3 and parts[0] == "threads" and parts[2] == "runs":
        status, answer = 200, _run(parts[1])
    else:
        status, answer = 404, {"detail": "Not Found"}
    body = json.dumps(answer).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Ceiling:
    threads_per_second: float
    accepted_per_second: float
    client_ms_per_request: float
    server_ms_per_request: float


def measure_ceiling(profile: Profile) -> Ceiling:
    port = free_port()
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "bench.ceiling:application"]
    log_file = Path(tempfile.mkstemp(prefix="agentplatform-ceiling-", suffix=".log")[1])
    with log_file.open("w") as output:
        server = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/ok", server, log_file, timeout=30)
        log("measuring the client's ceiling (a server that does no work)")
        return asyncio.run(_loops(url, profile, server.pid))
    finally:
        server.terminate()
        server.wait(timeout=10)
        log_file.unlink(missing_ok=True)


async def _loops(url: str, profile: Profile, pid: int) -> Ceiling:
    count, inflight = profile.burst_runs, 64
    async with client_for(url) as client:
        await bounded(lambda _: client.threads.create(), 100, inflight, 10)  # warm-up: connections, imports
        server_start, client_start = cpu_seconds([pid]), time.process_time()
        start = time.perf_counter()
        threads = await bounded(lambda _: client.threads.create(metadata={"bench": "x"}), count, inflight, 60)
        threads_rate = len(threads) / (time.perf_counter() - start)
        start = time.perf_counter()
        runs = await bounded(
            lambda i: client.runs.create(threads[i]["thread_id"], "noop", input=NOOP_INPUT), len(threads), inflight, 60
        )
        accepted_rate = len(runs) / (time.perf_counter() - start)
        requests = len(threads) + len(runs)
        client_ms = (time.process_time() - client_start) / requests * 1000
        server_ms = (cpu_seconds([pid]) - server_start) / requests * 1000
    return Ceiling(threads_rate, accepted_rate, client_ms, server_ms)


if __name__ == "__main__":
    result = measure_ceiling(QUICK)
    print(
        f"threads.create {result.threads_per_second:.0f}/s, runs.create {result.accepted_per_second:.0f}/s, "
        f"client {result.client_ms_per_request:.2f} ms and server {result.server_ms_per_request:.2f} ms CPU a request"
    )
