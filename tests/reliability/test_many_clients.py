"""A thousand stream clients on one API process while runs execute (issue 10, "1000 concurrent SSE and websocket
clients on one API process"): 700 follow a run over SSE, 300 over a websocket, each from the start of the run's
log (`Last-Event-ID: -`), while the runs execute. Every client must be served (no 5xx), get every event of its
run exactly once and in order, then the end (the SSE response ends; a websocket gets `end`); the stack's Redis
connections must stay bounded however many clients there are (each reader holding a connection would exhaust
Redis and the API's pool); every run must end once (tests/reliability/invariants.py), and a run started
meanwhile must still complete about as fast as with no client.

Long form (RELIABILITY_LONG=1): 2000 clients on more and longer runs, two workers, one SIGKILLed mid-run, so the
clients also follow a run's second attempt.
"""

from __future__ import annotations

import asyncio
import json
import signal
import statistics
import time
from dataclasses import dataclass, field

import httpx
import pytest
from langgraph_sdk import get_client
from websockets.asyncio.client import connect

from tests.reliability.conftest import LONG
from tests.reliability.invariants import DONE_EVENT, Planned, check, observe, plan_runs, stream_entries, unfinished

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.timeout(600 if LONG else 180)]

# (clients, websocket share, threads, runs per thread, steps, seconds a step, workers)
SHAPE = (2000, 0.3, 10, 3, 10, 0.3, 2) if LONG else (1000, 0.3, 4, 2, 6, 0.3, 1)
# Runs are delayed this long, so that they execute while the clients are connected (the clients replay from the
# start of the log anyway, so one that connects late still gets everything).
START_AFTER_SECS = 6
# Clients connect this many at a time, as a crowd of browsers would rather than one SYN burst (listen backlog 50).
OPENING = 100
REDIS_POOL = 50  # REDIS_MAX_CONNECTIONS, the API process's pool for short commands


@dataclass
class Follower:
    """One client following one run: what it received, and how its stream ended."""

    kind: str
    run: Planned
    status: int | None = None
    ids: list[str] = field(default_factory=list)
    ended: bool = False
    error: str | None = None


async def follow_sse(http: httpx.AsyncClient, run: Planned, opening: asyncio.Semaphore) -> Follower:
    follower = Follower("sse", run)
    request = http.build_request(
        "GET", f"/threads/{run.thread_id}/runs/{run.run_id}/stream", headers={"Last-Event-ID": "-"}
    )
    try:
        async with opening:
            response = await http.send(request, stream=True)
        follower.status = response.status_code
        async for line in response.aiter_lines():
            if line.startswith("id: "):
                follower.ids.append(line[4:])
        follower.ended = follower.status == 200  # the stream ended by itself: the run is over
        await response.aclose()
    except httpx.HTTPError as exc:
        follower.error = repr(exc)
    return follower


async def follow_ws(url: str, run: Planned, opening: asyncio.Semaphore) -> Follower:
    follower = Follower("ws", run)
    subscribe = {"type": "subscribe", "id": "s", "thread_id": run.thread_id, "run_id": run.run_id}
    try:
        async with opening:
            ws = await connect(url.replace("http://", "ws://") + "/ws", open_timeout=60, max_queue=None)
        async with ws:
            await ws.send(json.dumps({**subscribe, "last_event_id": "-"}))
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] == "subscribed":
                    follower.status = 200
                elif message["type"] == "event":
                    follower.ids.append(message["event_id"])
                elif message["type"] == "end":
                    follower.ended = True
                    break
                else:
                    follower.error, follower.status = json.dumps(message), 500
                    break
    except Exception as exc:  # a refused handshake or a closed socket: reported as this client's failure
        follower.error = repr(exc)
    return follower


def redis_connections(faults) -> int:
    return len(faults.redis_client().client_list())


async def sample_peak(faults, stop: asyncio.Event) -> int:
    peak = 0
    while not stop.is_set():
        peak = max(peak, await asyncio.to_thread(redis_connections, faults))
        await asyncio.sleep(0.5)
    return peak


async def run_latency(sdk, count: int) -> list[float]:
    took = []
    for _ in range(count):
        thread_id = (await sdk.threads.create())["thread_id"]
        started = time.perf_counter()
        await sdk.runs.wait(thread_id, "echo", input={"value": "x"})
        took.append(time.perf_counter() - started)
    return took


async def kill_one_mid_run(faults, log_has_steps) -> str | None:
    """Long form: SIGKILL the worker holding a run once steps are being logged, and start another in its place."""
    while not log_has_steps():
        await asyncio.sleep(0.2)
    victim = next((name for name in faults.workers() if faults.stack.processes[name].poll() is None), None)
    if victim is not None:
        faults.stack.stop(victim, signal.SIGKILL)
        await asyncio.to_thread(faults.stack.start_worker, victim)
    return victim


async def scenario(faults, planned: list[Planned], clients: int, ws_share: float, log) -> dict:
    sdk = get_client(url=faults.stack.url)
    idle = redis_connections(faults)
    baseline = await run_latency(sdk, 3)
    stop_sampling = asyncio.Event()
    peak = asyncio.ensure_future(sample_peak(faults, stop_sampling))
    opening = asyncio.Semaphore(OPENING)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    timeout = httpx.Timeout(120, connect=60)
    async with httpx.AsyncClient(base_url=faults.stack.url, limits=limits, timeout=timeout) as http:
        followers = [
            follow_ws(faults.stack.url, planned[n % len(planned)], opening)
            if n % 10 < ws_share * 10
            else follow_sse(http, planned[n % len(planned)], opening)
            for n in range(clients)
        ]
        started = time.perf_counter()
        following = asyncio.gather(*followers)
        killed = None
        if LONG:
            killed = await kill_one_mid_run(faults, lambda: log.exists() and log.stat().st_size > 0)
        loaded = await run_latency(sdk, 3)
        results = await following
        followed_in = time.perf_counter() - started
    stop_sampling.set()
    return {
        "followers": results,
        "followed_in": followed_in,
        "baseline": statistics.median(baseline),
        "loaded": statistics.median(loaded),
        "redis": (idle, await peak),
        "killed": killed,
    }


def expected_ids(faults, planned: list[Planned]) -> dict[str, list[str]]:
    """Each run's log, up to its done entry: exactly what a client replaying it from the start must get."""
    redis, expected = faults.redis_client(), {}
    for run in planned:
        entries = stream_entries(redis, run.run_id) or []
        expected[run.run_id] = [entry_id for entry_id, event, _ in entries if event != DONE_EVENT]
    return expected


def test_a_thousand_stream_clients_each_get_every_event_once_in_order_while_runs_execute(faults, tmp_path):
    clients, ws_share, threads, per_thread, steps, step_secs, workers = SHAPE
    faults.start_workers(*(f"worker-{n}" for n in range(1, workers + 1)))
    client, log = faults.client, tmp_path / "steps.jsonl"
    planned = plan_runs(
        client,
        threads=threads,
        runs_per_thread=per_thread,
        log=log,
        steps=steps,
        seconds=step_secs,
        after_seconds=START_AFTER_SECS,
    )
    figures = asyncio.run(scenario(faults, planned, clients, ws_share, log))
    assert not unfinished(faults.stack, [run.run_id for run in planned])
    report = check(observe(faults.stack, client, faults.redis_client(), planned, log))

    expected = expected_ids(faults, planned)
    followers = figures["followers"]
    failed = [f for f in followers if f.status != 200]
    wrong = [f for f in followers if f.status == 200 and f.ids != expected[f.run.run_id]]
    unended = [f for f in followers if f.status == 200 and not f.ended]
    idle, peak = figures["redis"]
    events = sum(len(f.ids) for f in followers)
    print(
        f"\nmany clients: {clients} clients ({sum(f.kind == 'sse' for f in followers)} SSE, "
        f"{sum(f.kind == 'ws' for f in followers)} websocket) on {len(planned)} runs of {steps} steps, "
        f"{workers} worker(s){', one SIGKILLed mid-run' if figures['killed'] else ''}: all followed to the end in "
        f"{figures['followed_in']:.1f}s, {events} events delivered; {len(failed)} not served, {len(wrong)} with "
        f"missing, repeated or reordered events, {len(unended)} without their end; Redis connections {idle} idle, "
        f"{peak} at most with every client open; run latency {figures['baseline'] * 1000:.0f} ms idle, "
        f"{figures['loaded'] * 1000:.0f} ms under load; {report.figures}"
    )
    assert not failed, [(f.kind, f.status, f.error) for f in failed[:5]]
    assert not wrong, [(f.kind, len(f.ids), len(expected[f.run.run_id])) for f in wrong[:5]]
    assert not unended
    assert peak <= idle + REDIS_POOL + 10, "Redis connections grew with the clients"
    report.assert_ok()
    # Loosely (the clients share the machine's two cores with the stack): a reader per connection cost 50 times.
    assert figures["loaded"] < max(1.0, 5 * figures["baseline"])
