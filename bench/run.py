"""The benchmark behind docs/benchmarks.md: a real stack (PostgreSQL, Redis, Daphne, Celery worker) on this
machine, driven over HTTP with the one-node graph in bench/graph.py.

    python bench/run.py [--workers 1] [--wait-runs 300] [--clients 16] [--burst 1000] [--sse-runs 100]

Starts throwaway PostgreSQL and Redis (or uses DATABASE_URI / REDIS_URI), migrates a fresh database, starts the
processes, measures, prints one line per figure and stops everything.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from agentplatform.embedded import EmbeddedPostgres, EmbeddedRedis, free_port  # noqa: E402

BODY = {"assistant_id": "one_node", "input": {"value": 1}}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def wait_latency(http: httpx.AsyncClient, runs: int) -> None:
    for _ in range(20):
        (await http.post("/runs/wait", json=BODY)).raise_for_status()
    latencies = []
    for _ in range(runs):
        start = time.perf_counter()
        response = await http.post("/runs/wait", json=BODY)
        latencies.append(time.perf_counter() - start)
        assert response.status_code == 200 and response.json().get("count") == 1, response.text
    print(f"/runs/wait sequential x{runs}: p50 {pct(latencies, 0.5):.1f} ms, p95 {pct(latencies, 0.95):.1f} ms")


async def wait_throughput(http: httpx.AsyncClient, clients: int, per_client: int) -> None:
    async def loop() -> None:
        for _ in range(per_client):
            response = await http.post("/runs/wait", json=BODY)
            assert response.status_code == 200 and response.json().get("count") == 1, response.text

    start = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    total = clients * per_client
    rate = total / elapsed
    print(f"/runs/wait with {clients} concurrent clients: {total} runs in {elapsed:.2f} s = {rate:.0f} runs/s")


async def burst(http: httpx.AsyncClient, count: int) -> None:
    threads = []
    for _ in range(count):
        threads.append((await http.post("/threads", json={})).json()["thread_id"])
    sem = asyncio.Semaphore(64)

    async def submit(thread_id: str) -> str:
        async with sem:
            response = await http.post(f"/threads/{thread_id}/runs", json=BODY)
            response.raise_for_status()
            return response.json()["run_id"]

    start = time.perf_counter()
    run_ids = await asyncio.gather(*(submit(t) for t in threads))
    submitted = time.perf_counter() - start
    pending = dict(zip(run_ids, threads, strict=True))
    deadline = time.monotonic() + 120
    while pending and time.monotonic() < deadline:
        for run_id, thread_id in list(pending.items())[:200]:
            run = (await http.get(f"/threads/{thread_id}/runs/{run_id}")).json()
            if run["status"] == "success":
                del pending[run_id]
            elif run["status"] not in ("pending", "running"):
                raise AssertionError(f"run {run_id} ended {run['status']}")
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - start
    print(
        f"{count} background runs: submitted in {submitted:.2f} s, all finished in {elapsed:.2f} s, "
        f"lost/unfinished {len(pending)}"
    )


async def first_sse_event(http: httpx.AsyncClient, runs: int) -> None:
    thread_id = (await http.post("/threads", json={})).json()["thread_id"]
    latencies = []
    for _ in range(runs):
        start = time.perf_counter()
        first = None
        async with http.stream("POST", f"/threads/{thread_id}/runs/stream", json=BODY) as response:
            async for line in response.aiter_lines():
                if first is None and line.startswith("event:"):
                    first = time.perf_counter() - start
        latencies.append(first)
    print(f"first SSE event x{runs}: p50 {pct(latencies, 0.5):.1f} ms, p95 {pct(latencies, 0.95):.1f} ms")


async def first_token(http: httpx.AsyncClient, runs: int) -> None:
    """Time to the first `messages` event of a streamed chat reply (stream_mode messages-tuple)."""
    body = {"assistant_id": "chat", "input": {"messages": [{"role": "user", "content": "hi"}]}}
    body["stream_mode"] = ["messages-tuple"]
    latencies = []
    for _ in range(runs):
        start = time.perf_counter()
        first = None
        async with http.stream("POST", "/runs/stream", json=body) as response:
            async for line in response.aiter_lines():
                if first is None and line.startswith("event: messages"):
                    first = time.perf_counter() - start
        latencies.append(first)
    print(f"first token (messages-tuple) x{runs}: p50 {pct(latencies, 0.5):.1f} ms, p95 {pct(latencies, 0.95):.1f} ms")


async def measure(url: str, args: argparse.Namespace) -> None:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        await wait_latency(http, args.wait_runs)
        await wait_throughput(http, args.clients, max(1, args.throughput_runs // args.clients))
        await burst(http, args.burst)
        await first_sse_event(http, args.sse_runs)
        await first_token(http, args.sse_runs)


def start_stack(args: argparse.Namespace):
    from tests.stack import Stack

    data = Path(tempfile.mkdtemp(prefix="agentplatform-bench-"))
    services = []
    if not os.environ.get("DATABASE_URI"):
        services.append(EmbeddedPostgres(data / "pg", free_port(), durable=True).start())
        os.environ["DATABASE_URI"] = services[-1].uri
    if not os.environ.get("REDIS_URI"):
        services.append(EmbeddedRedis(data / "redis", free_port()).start())
        os.environ["REDIS_URI"] = services[-1].uri
    env = {"LANGGRAPH_CONFIG": str(ROOT / "bench" / "langgraph.json"), "LOG_LEVEL": "WARNING"}
    stack = Stack(base_env=env, log_dir=data)
    stack.create_database()
    stack.start_api()
    for index in range(args.workers):
        stack.start_worker(f"worker{index}")
    return stack, services


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="measure an already running server instead of starting one")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--wait-runs", type=int, default=300)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--throughput-runs", type=int, default=1600)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--sse-runs", type=int, default=100)
    args = parser.parse_args()
    if args.url:
        asyncio.run(measure(args.url, args))
        return
    stack, services = start_stack(args)
    try:
        asyncio.run(measure(stack.url, args))
    finally:
        stack.stop_all()
        for service in services:
            service.stop()


if __name__ == "__main__":
    main()
