"""The thread-centric stream (`client.threads.stream()`) against the run stream it rides on: latency of the first
event and server CPU per run, on one thread, one run at a time (noop graph).

    python bench/thread_stream.py [--runs 200] [--warmup 20]

Starts agentplatform as bench/profile.py does (bench/servers.py: embedded PostgreSQL and Redis, one Daphne, one
worker), then measures two workloads of `--runs` runs each, CPU from /proc for every server process:

- `run stream`: `POST /threads/{id}/runs/stream` to the end of the stream, as bench/profile.py `--workload stream`;
- `thread stream`: one `POST /threads/{id}/stream/events` held open for all runs, each started by a `run.start`
  command and followed to its `lifecycle` `completed` on that stream.

First event: from the request (the `POST .../runs/stream`; the `run.start` command) to the first event of the run,
and, for the thread stream, from the run's start (the timestamp the worker gives its `lifecycle` `running` event,
milliseconds of the same clock) to that event's arrival. The run stream's first event is written by the API
itself; its first `values` is the first event the worker writes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench import log
from bench.figures import NOOP_INPUT, client_for, warm_up
from bench.procs import CpuMeter
from bench.servers import OurServer

SERVER_GROUPS = ("api", "workers", "postgres", "redis")


def _p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _p95_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000


async def _frames(response: httpx.Response, queue: asyncio.Queue) -> None:
    """Each SSE `data:` of the response, with its arrival time, into `queue`."""
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            await queue.put((time.perf_counter(), time.time(), json.loads(line[6:])))


async def run_stream(http: httpx.AsyncClient, runs: int) -> dict[str, list[float]]:
    thread_id = (await http.post("/threads", json={})).json()["thread_id"]
    first, first_values = [], []
    for _ in range(runs):
        start, seen_values = time.perf_counter(), None
        body = {"assistant_id": "noop", "input": NOOP_INPUT}
        async with http.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as response:
            event, arrived = None, None
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    arrived = arrived or time.perf_counter()
                    if event == "values" and seen_values is None:
                        seen_values = time.perf_counter()
        first.append(arrived - start)
        first_values.append(seen_values - start)
    return {"first event": first, "first values": first_values}


def _root(event: dict) -> str | None:
    if event.get("method") == "lifecycle" and not event["params"]["namespace"]:
        return event["params"]["data"]["event"]
    return None


async def thread_stream(http: httpx.AsyncClient, runs: int) -> dict[str, list[float]]:
    thread_id = str(uuid.uuid4())
    queue: asyncio.Queue = asyncio.Queue()
    from_command, from_start = [], []
    body = {"channels": ["lifecycle", "values"]}
    async with http.stream("POST", f"/threads/{thread_id}/stream/events", json=body) as response:
        reader = asyncio.create_task(_frames(response, queue))
        try:
            for index in range(runs):
                params = {"assistant_id": "noop", "input": NOOP_INPUT}
                start = time.perf_counter()
                command = {"id": index + 1, "method": "run.start", "params": params}
                await http.post(f"/threads/{thread_id}/commands", json=command)
                arrived, wall, event = await queue.get()
                while _root(event) != "running":
                    arrived, wall, event = await queue.get()
                from_command.append(arrived - start)
                from_start.append(max(0.0, wall - event["params"]["timestamp"] / 1000))
                while _root(event) != "completed":
                    _, _, event = await queue.get()
        finally:
            reader.cancel()
    return {"first event": from_command, "first event after the run's start": from_start}


async def _measure(server: OurServer, args: argparse.Namespace) -> None:
    async with client_for(server.url) as client:
        await warm_up(client, {"noop": NOOP_INPUT})
    groups = {name: pids for name, pids in server.cpu_groups().items() if name in SERVER_GROUPS}
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        for name, workload in (("run stream", run_stream), ("thread stream", thread_stream)):
            await workload(http, args.warmup)
            log(f"{name}: {args.runs} runs")
            meter = CpuMeter(groups)
            meter.start()
            started = time.perf_counter()
            latencies = await workload(http, args.runs)
            elapsed, cpu = time.perf_counter() - started, meter.stop()
            _report(name, args.runs, elapsed, cpu, latencies)


def _report(name: str, runs: int, elapsed: float, cpu: dict[str, float], latencies: dict[str, list[float]]) -> None:
    per_run = {group: seconds / runs * 1000 for group, seconds in cpu.items()}
    cells = " | ".join(f"{group} {ms:.2f}" for group, ms in per_run.items())
    print(f"\n{name}: {runs} runs in {elapsed:.1f} s")
    print(f"CPU ms per run: {cells} | total {sum(per_run.values()):.2f}")
    for label, samples in latencies.items():
        print(f"{label}: p50 {_p50_ms(samples):.1f} ms, p95 {_p95_ms(samples):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    server = OurServer()
    try:
        server.start()
        asyncio.run(_measure(server, args))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
