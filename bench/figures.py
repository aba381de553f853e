"""Each figure of the benchmark, measured through the official Python SDK (`langgraph_sdk`, async client) exactly as a
user would call either server. Every loop is bounded both in count and in time."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from bench import log
from bench.procs import CpuMeter, rss_bytes

T = TypeVar("T")
NOOP_INPUT = {"value": 1}
CHAT_INPUT = {"messages": [{"role": "user", "content": "hi"}]}
TERMINAL_FAILURES = ("error", "timeout", "interrupted")


def client_for(url: str) -> LangGraphClient:
    # A long pool timeout: a burst queues hundreds of requests behind the client's 100 connections.
    return get_client(url=url, api_key=None, timeout=httpx.Timeout(120.0))


async def bounded(call: Callable[[int], Awaitable[T]], count: int, inflight: int, seconds: float) -> list[T]:
    """`call(0) ... call(count - 1)` with at most `inflight` at once; no new call starts after `seconds`."""
    deadline = time.monotonic() + seconds
    results: list[T] = []
    issued = 0

    async def lane() -> None:
        nonlocal issued
        while issued < count and time.monotonic() < deadline:
            index, issued = issued, issued + 1
            results.append(await call(index))

    await asyncio.gather(*(lane() for _ in range(min(inflight, count))))
    return results


@dataclass
class Latency:
    samples: list[float]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000


@dataclass
class Throughput:
    runs: int
    failed: int
    seconds: float
    cpu: dict[str, float]
    client_cpu: float

    @property
    def rate(self) -> float:
        return self.runs / self.seconds

    @property
    def cpu_ms_per_run(self) -> float:
        return sum(self.cpu.values()) / self.runs * 1000

    def group_ms_per_run(self, group: str) -> float:
        return self.cpu[group] / self.runs * 1000


def _succeeded(result: Any) -> bool:
    return isinstance(result, dict) and bool(result.get("count"))


async def warm_up(client: LangGraphClient, assistants: dict[str, dict], runs: int = 3) -> None:
    """Graphs loaded, pools and connections opened, before anything is timed."""
    for assistant, body in assistants.items():
        for _ in range(runs):
            await client.runs.wait(None, assistant, input=body)


async def wait_latency(client: LangGraphClient, *, runs: int, seconds: float) -> Latency:
    """create+wait (`POST /runs/wait`), one client, one run after the other."""

    async def one(_: int) -> float:
        start = time.perf_counter()
        result = await client.runs.wait(None, "noop", input=NOOP_INPUT)
        assert _succeeded(result), result
        return time.perf_counter() - start

    return Latency(await bounded(one, runs, 1, seconds))


async def wait_throughput(
    client: LangGraphClient,
    meter: CpuMeter,
    *,
    clients: int,
    runs: int,
    seconds: float,
    assistant: str = "noop",
    body: dict = NOOP_INPUT,
) -> Throughput:
    """`clients` concurrent loops of create+wait; server CPU of every server process over the same interval."""

    async def one(_: int) -> bool:
        try:
            return _succeeded(await client.runs.wait(None, assistant, input=body))
        except httpx.HTTPStatusError:
            return False

    meter.start()
    client_start, start = time.process_time(), time.perf_counter()
    outcomes = await bounded(one, runs, clients, seconds)
    elapsed, client_cpu = time.perf_counter() - start, time.process_time() - client_start
    return Throughput(len(outcomes), outcomes.count(False), elapsed, meter.stop(), client_cpu)


async def first_sse_event(client: LangGraphClient, *, runs: int, seconds: float) -> Latency:
    """Time from `POST /threads/{id}/runs/stream` to its first SSE event (noop graph, one thread)."""
    thread_id = (await client.threads.create())["thread_id"]

    async def one(_: int) -> float:
        start, first = time.perf_counter(), None
        async for _chunk in client.runs.stream(thread_id, "noop", input=NOOP_INPUT):
            first = first or time.perf_counter() - start
        return first

    return Latency(await bounded(one, runs, 1, seconds))


async def first_token(client: LangGraphClient, *, runs: int, seconds: float) -> Latency:
    """Time from `POST /runs/stream` (`messages-tuple`) to the first token of the fake chat model's reply."""
    tokens: list[int] = []

    async def one(_: int) -> float:
        start, first, count = time.perf_counter(), None, 0
        async for chunk in client.runs.stream(None, "chat", input=CHAT_INPUT, stream_mode="messages-tuple"):
            if chunk.event.startswith("messages"):
                first, count = first or time.perf_counter() - start, count + 1
        tokens.append(count)
        return first

    latency = Latency(await bounded(one, runs, 1, seconds))
    latency.extra["tokens"] = statistics.median(tokens)
    return latency


@dataclass
class Burst:
    runs: int
    threads_per_second: float
    accepted_per_second: float
    drain_seconds: float
    refused: int
    failed: int
    lost: int


async def burst(
    client: LangGraphClient,
    *,
    runs: int,
    inflight: int = 64,
    timeout: float = 120.0,
    assistant: str = "noop",
    body: dict = NOOP_INPUT,
) -> Burst:
    """`runs` threads created (`threads.create`, `inflight` at once), then one background run on each
    (`runs.create`, `inflight` at once), then polled until every run is done: first submit to last done."""
    tag = uuid.uuid4().hex
    start = time.perf_counter()
    thread_ids = await bounded(lambda _: _thread(client, tag), runs, inflight, timeout)
    threads_per_second = len(thread_ids) / (time.perf_counter() - start)

    async def submit(index: int) -> tuple[str, str] | None:
        with contextlib.suppress(httpx.HTTPStatusError):
            run = await client.runs.create(thread_ids[index], assistant, input=body)
            return thread_ids[index], run["run_id"]
        return None

    first_submit = time.perf_counter()
    accepted = [pair for pair in await bounded(submit, len(thread_ids), inflight, timeout) if pair]
    accepted_per_second = len(accepted) / (time.perf_counter() - first_submit)
    last_done, statuses = await _drain(client, tag, accepted, time.monotonic() + timeout)
    failed = sum(status in TERMINAL_FAILURES for status in statuses.values())
    lost = sum(status not in ("success", *TERMINAL_FAILURES) for status in statuses.values())
    refused = runs - len(accepted)
    return Burst(runs, threads_per_second, accepted_per_second, last_done - first_submit, refused, failed, lost)


async def _thread(client: LangGraphClient, tag: str) -> str:
    return (await client.threads.create(metadata={"bench": tag}))["thread_id"]


async def _drain(
    client: LangGraphClient, tag: str, accepted: list[tuple[str, str]], deadline: float
) -> tuple[float, dict[tuple[str, str], str]]:
    """When the last run was done, and every run's final status. A cheap count of the burst's busy threads finds the
    end; each run's status is then read once, untimed, and any run not yet terminal is polled on its own."""
    while time.monotonic() < deadline and await client.threads.count(metadata={"bench": tag}, status="busy"):
        await asyncio.sleep(0.05)
    last_done = time.perf_counter()
    statuses = await _statuses(client, accepted)
    while (unfinished := [pair for pair, status in statuses.items() if status in ("pending", "running")]) and (
        time.monotonic() < deadline
    ):
        await asyncio.sleep(0.05)
        statuses.update(await _statuses(client, unfinished))
        last_done = time.perf_counter()
    return last_done, statuses


async def _statuses(client: LangGraphClient, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    async def one(index: int) -> tuple[tuple[str, str], str]:
        thread_id, run_id = pairs[index]
        try:
            return pairs[index], (await client.runs.get(thread_id, run_id))["status"]
        except httpx.HTTPStatusError:
            return pairs[index], "missing"

    return dict(await bounded(one, len(pairs), 32, 120.0))


@contextlib.contextmanager
def peak_rss(pids: list[int], interval: float = 0.1) -> Iterator[list[int]]:
    """Samples the RSS of the process trees of `pids` every `interval` seconds while the block runs (in the event
    loop's thread: the block must be awaiting); the yielded list ends up holding [peak bytes]."""
    peak = [rss_bytes(pids)]

    async def sample() -> None:
        while True:
            peak[0] = max(peak[0], rss_bytes(pids))
            await asyncio.sleep(interval)

    task = asyncio.get_running_loop().create_task(sample())
    try:
        yield peak
    finally:
        task.cancel()
        peak[0] = max(peak[0], rss_bytes(pids))


@dataclass(frozen=True)
class Profile:
    """How many requests each figure makes at most, and for how many seconds at most."""

    name: str
    wait_runs: int
    wait_seconds: float
    throughput_runs: int
    throughput_seconds: float
    burst_runs: int
    burst_timeout: float
    stream_runs: int
    stream_seconds: float
    scale_seconds: float
    floor_runs: int


FULL = Profile("full", 200, 30, 1600, 30, 1000, 120, 100, 30, 12, 500)
QUICK = Profile("quick", 30, 6, 320, 8, 200, 60, 20, 6, 4, 100)


@dataclass
class ServerFigures:
    wait: Latency
    throughput: Throughput
    burst: Burst
    first_event: Latency
    first_token: Latency


@dataclass(frozen=True)
class Side:
    """One server as the side-by-side figures drive it."""

    name: str
    client: LangGraphClient
    meter: CpuMeter


async def server_figures(sides: list[Side], profile: Profile) -> dict[str, ServerFigures]:
    """The side-by-side figures, with the same bounds for each server, taken figure by figure: each figure on every
    server in turn (the order reversed at each figure), so that a drift of the machine's speed over the minutes of
    a run (other VMs share its host) reaches every server alike instead of whichever was measured later."""
    for side in sides:
        await warm_up(side.client, {"noop": NOOP_INPUT, "chat": CHAT_INPUT})
    p = profile
    steps = [
        ("create+wait, one client", lambda side: wait_latency(side.client, runs=p.wait_runs, seconds=p.wait_seconds)),
        (
            "create+wait, 16 clients",
            lambda side: wait_throughput(
                side.client, side.meter, clients=16, runs=p.throughput_runs, seconds=p.throughput_seconds
            ),
        ),
        (
            f"threads.create and runs.create, {p.burst_runs} at once",
            lambda side: burst(side.client, runs=p.burst_runs, timeout=p.burst_timeout),
        ),
        ("first SSE event", lambda side: first_sse_event(side.client, runs=p.stream_runs, seconds=p.stream_seconds)),
        ("first token", lambda side: first_token(side.client, runs=p.stream_runs, seconds=p.stream_seconds)),
    ]
    taken: dict[str, list] = {side.name: [] for side in sides}
    for index, (label, measure) in enumerate(steps):
        for side in sides if index % 2 == 0 else reversed(sides):
            log(f"  {label}: {side.name}")
            taken[side.name].append(await measure(side))
    return {name: ServerFigures(*values) for name, values in taken.items()}
