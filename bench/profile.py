"""Where agentplatform's cost per request goes: CPU by process, SQL statements, Redis commands and Celery
messages per operation, and optionally a py-spy profile of the API and the worker(s) under the same load.

    python bench/profile.py [--workload wait|threads|create|stream|chat] [--ops 400] [--clients 16] [--py-spy DIR]

Starts agentplatform as bench/compare.py does (bench/servers.py), warms up, then measures the workload twice:
once for CPU (from /proc, nothing else running) and once with PostgreSQL logging every statement (which costs
PostgreSQL CPU of its own, so that pass's CPU is not reported) for the counts. The counts are exact and do not
depend on the machine's load; CPU per operation is far less sensitive to load than latency or rates are.
With --py-spy, `py-spy record` samples the API and each worker during the CPU pass (raw collapsed stacks in DIR,
and the top frames printed); that pass's CPU then includes py-spy's interruptions and is a little higher.

Workloads: `wait` (create+wait, stateless `POST /runs/wait`), `threads` (`POST /threads`), `create` (background
`POST /threads/{id}/runs` on fresh threads, measured until every run is done), `stream` (`POST
/threads/{id}/runs/stream`, one client, to the end of the stream), `chat` (stateless `POST /runs/stream` of the
fake chat model, `messages-tuple`: 51 token events a run, --clients at once, to the end of the stream).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
import redis

from bench import log
from bench.figures import CHAT_INPUT, NOOP_INPUT, bounded, client_for, warm_up
from bench.procs import CpuMeter
from bench.servers import OurServer

_LITERAL = re.compile(r"'(?:[^']|'')*'|\$\d+|\b\d+(?:\.\d+)?\b")
_STATEMENT = re.compile(r"(?:statement|execute [^:]*): (.*)")


def _normalized(sql: str) -> str:
    text = _LITERAL.sub("?", " ".join(sql.split()))
    text = re.sub(r"\(\?(?:, \?)+\)", "(?...)", text)
    return text[:150]


def _statements(log_text: str) -> Counter:
    """Statements in a PostgreSQL log written with log_statement=all (continuation lines start with a tab)."""
    found: Counter = Counter()
    current: list[str] | None = None
    for line in log_text.splitlines():
        if line.startswith("\t") and current is not None:
            current.append(line)
            continue
        if current:
            found[_normalized(" ".join(current))] += 1
        match = _STATEMENT.search(line) if " LOG:  " in line else None
        current = [match.group(1)] if match else None
    if current:
        found[_normalized(" ".join(current))] += 1
    return found


class Workload:
    """`prepare(n)` (untimed, uncounted), then `run(n)`: n operations."""

    def __init__(self, client, name: str, clients: int) -> None:
        self.client, self.name, self.clients = client, name, clients
        self.thread_ids: list[str] = []

    async def prepare(self, ops: int) -> None:
        if self.name == "create":
            self.thread_ids = await bounded(self._thread, ops, 64, 300)
        elif self.name == "stream":
            self.thread_ids = [(await self.client.threads.create())["thread_id"]]

    async def _thread(self, _: int) -> str:
        return (await self.client.threads.create())["thread_id"]

    async def run(self, ops: int) -> None:
        actions: dict[str, Callable[[int], Awaitable[object]]] = {
            "wait": lambda _: self.client.runs.wait(None, "noop", input=NOOP_INPUT),
            "threads": lambda _: self.client.threads.create(),
            "create": lambda i: self.client.runs.create(self.thread_ids[i], "noop", input=NOOP_INPUT),
            "stream": self._stream,
            "chat": self._chat,
        }
        inflight = {"threads": 64, "create": 64, "stream": 1}.get(self.name, self.clients)
        await bounded(actions[self.name], ops, inflight, 600)

    async def _stream(self, _: int) -> None:
        async for _chunk in self.client.runs.stream(self.thread_ids[0], "noop", input=NOOP_INPUT):
            pass

    async def _chat(self, _: int) -> None:
        async for _chunk in self.client.runs.stream(None, "chat", input=CHAT_INPUT, stream_mode="messages-tuple"):
            pass

    async def drain(self) -> None:
        """Until every run of the `create` workload is done (polled twice a second: little API CPU of its own)."""
        deadline = time.monotonic() + 300
        while self.name == "create" and time.monotonic() < deadline and await self.client.threads.count(status="busy"):
            await asyncio.sleep(0.5)


def _py_spy(pid: int, path: Path) -> subprocess.Popen:
    args = ["py-spy", "record", "--pid", str(pid), "--rate", "200", "--format", "raw", "--output", str(path)]
    args += ["--nonblocking", "--gil", "--subprocesses"]  # the API's Daphne processes are the launcher's children
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _stop_py_spy(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGINT)
    for proc in procs:
        proc.wait(60)


# Frames that only carry the event loop, the thread pool or the CLI down to the work: left out of the tree.
_PLUMBING = re.compile(
    r"^(_run_code|_run_module_as_main|<module>|main |CommandLineInterface|Server\.run \(daphne|AsyncioSelectorReactor"
    r"\.run|BaseEventLoop\.run_forever|BaseEventLoop\._run_once|Handle\._run|Thread\._bootstrap|Thread\.run|_worker "
    r"|_WorkItem\.run|Command|Group\.invoke|Context\.invoke|pass_context|handle_preload|worker \(celery|WorkController"
    r"|Blueprint|StartStopStep|Consumer\.start|Evloop|WatchedConsumer|asynloop|Hub\.create_loop|callWith"
    r"|ThreadedContextTracker|ContextTracker)"
)


# What each sample of a profile was spent on: the first category whose pattern matches a frame of its stack.
API_CATEGORIES = [
    ("Celery publish (doorbell.ring)", r"^ring \(runs/engine/doorbell"),
    ("assistant lookup (assistant_resolve)", r"^assistant_resolve "),
    ("thread_create service", r"^thread_create "),
    ("run_create: lock, inserts, transaction", r"^run_create "),
    ("DRF view dispatch, parsing, serializers", r"rest_framework/"),
    ("waiting for the result (Redis XREAD, row check)", r"^run_wait_result |^_row_result "),
    ("stream views and readers", r"runs/streams/|runs/api/stream_views"),
    ("Twisted form parsing (_parseContentType)", r"^_parseContentType "),
    ("Django ASGI handler and middleware", r"django/core/handlers|agentplatform/middleware|corsheaders"),
    ("thread hops (asgiref, executors, thread starts)", r"asgiref/sync.py|concurrent/futures|threading.py"),
    ("Daphne and Twisted HTTP", r"twisted/|daphne/"),
]
WORKER_CATEGORIES = [
    ("graph execution (LangGraph)", r"^Pregel\.astream |^arun_with_retry |^RunnableCallable|^RunnableSeq"),
    ("checkpointer reads and writes", r"AsyncPostgresSaver|^AsyncPregelLoop\._checkpointer_put"),
    ("stream log appends (Redis)", r"^_RunLog|agentplatform/stream_log.py"),
    ("claim (run_claim)", r"^run_claim "),
    ("final write (lease_finish)", r"^lease_finish "),
    ("ring for the next run (next_pending_run_id)", r"^_ring_next "),
    ("lease renewal and cancel polls", r"^_supervise "),
    ("logging", r"^Logger\.|logging/__init__"),
    ("run loop scheduling (asyncio)", r"^_run_forever |^RunLoop\._serve "),
    ("Celery message receive and ack (kombu)", r"kombu/"),
    ("Celery task tracing and signals", r"celery/"),
]


def profile_categories(path: Path, categories: list[tuple[str, str]]) -> str:
    """Share of a py-spy raw file's samples per category (see API_CATEGORIES)."""
    compiled = [(name, re.compile(pattern)) for name, pattern in categories]
    shares: Counter = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        frames = stack.split(";")
        name = next((name for name, rx in compiled if any(rx.search(frame) for frame in frames)), "other")
        shares[name] += int(count)
    rows = [f"{path.name}: {total} samples"]
    rows += [f"{100 * n / max(total, 1):5.1f}%  {name}" for name, n in shares.most_common()]
    return "\n".join(rows)


def profile_tree(path: Path, threshold: float = 2.0, depth: int = 9) -> str:
    """A py-spy raw file (samples of the thread holding the GIL) as a call tree: each line is the share of
    samples spent in that call, its callees included; calls under `threshold` % and below `depth` are left out."""
    shares: Counter = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        frames = [re.sub(r":\d+\)", ")", frame) for frame in stack.split(";")[1:]]
        key: tuple = ()
        for frame in (f for f in frames if not _PLUMBING.match(f)):
            key = (*key, frame)
            shares[key] += int(count)
    rows = [f"{path.name}: {total} samples"]
    for key in sorted(shares):  # depth-first: a call's callees sort right after it
        share = 100 * shares[key] / max(total, 1)
        if share >= threshold and len(key) <= depth:
            rows.append(f"{share:5.1f}% {'  ' * (len(key) - 1)}{key[-1]}")
    return "\n".join(rows)


async def _measure(server: OurServer, args: argparse.Namespace) -> None:
    async with client_for(server.url) as client:
        await warm_up(client, {"noop": NOOP_INPUT, "chat": CHAT_INPUT})
        workload = Workload(client, args.workload, args.clients)
        await workload.prepare(args.ops)
        meter = CpuMeter(server.cpu_groups())
        spies, profiles = [], []
        if args.py_spy:
            args.py_spy.mkdir(parents=True, exist_ok=True)
            for name, pids in (("api", server.cpu_groups()["api"]), ("worker", server.worker_pids())):
                for pid in pids:
                    path = args.py_spy / f"{args.workload}-{name}-{pid}.txt"
                    spies.append(_py_spy(pid, path))
                    profiles.append((path, API_CATEGORIES if name == "api" else WORKER_CATEGORIES))
            await asyncio.sleep(1.0)
        log(f"CPU pass: {args.ops} x {args.workload}")
        meter.start()
        start = time.perf_counter()
        await workload.run(args.ops)
        submitted, submit_cpu = time.perf_counter() - start, meter.snapshot()
        await workload.drain()
        elapsed, cpu = time.perf_counter() - start, meter.stop()
        _stop_py_spy(spies)
        if args.workload == "create":
            before = meter.before
            _print_cpu(args, {name: submit_cpu[name] - before[name] for name in cpu}, submitted, "while submitting")
        _print_cpu(args, cpu, elapsed, "submitted and done" if args.workload == "create" else "")
        for path, categories in profiles:
            print("\n" + profile_categories(path, categories) + "\n\n" + profile_tree(path))
        await _count(server, workload, args)


def _print_cpu(args: argparse.Namespace, cpu: dict[str, float], elapsed: float, phase: str) -> None:
    per_op = {name: seconds / args.ops * 1000 for name, seconds in cpu.items()}
    cells = " | ".join(f"{name} {ms:.2f}" for name, ms in per_op.items())
    phase = f", {phase}" if phase else ""
    print(f"\n{args.workload}: {args.ops} ops in {elapsed:.1f} s ({args.ops / elapsed:.0f}/s{phase})")
    print(f"CPU ms per op: {cells} | total {sum(per_op.values()):.2f}")


async def _count(server: OurServer, workload: Workload, args: argparse.Namespace) -> None:
    ops = args.count_ops or args.ops
    await workload.prepare(ops)
    pg_log = server.postgres.data_dir / "postgres.log"
    rds = redis.Redis.from_url(server.redis.uri)
    with psycopg.connect(server.postgres.uri, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET log_statement = 'all'")
        conn.execute("SELECT pg_reload_conf()")
    await asyncio.sleep(0.5)
    log(f"count pass: {ops} x {args.workload}")
    offset = pg_log.stat().st_size
    rds.config_resetstat()
    await workload.run(ops)
    await workload.drain()
    await asyncio.sleep(0.5)
    commands = {name: stats["calls"] for name, stats in rds.info("commandstats").items()}
    with psycopg.connect(server.postgres.uri, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM RESET log_statement")
        conn.execute("SELECT pg_reload_conf()")
    with pg_log.open("rb") as handle:
        handle.seek(offset)
        statements = _statements(handle.read().decode(errors="replace"))
    _print_counts(ops, statements, commands)


def _print_counts(ops: int, statements: Counter, commands: dict[str, int]) -> None:
    total = sum(statements.values())
    print(f"\nSQL statements per op: {total / ops:.2f}")
    for sql, n in statements.most_common():
        if n / ops >= 0.05:
            print(f"  {n / ops:5.2f}  {sql}")
    redis_total = sum(n for name, n in commands.items() if name not in ("cmdstat_config", "cmdstat_info"))
    print(f"Redis commands per op: {redis_total / ops:.2f}")
    for name, n in sorted(commands.items(), key=lambda item: -item[1]):
        if n / ops >= 0.05:
            print(f"  {n / ops:5.2f}  {name.removeprefix('cmdstat_')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=("wait", "threads", "create", "stream", "chat"), default="wait")
    parser.add_argument("--ops", type=int, default=400)
    parser.add_argument("--count-ops", type=int, default=0, help="operations of the count pass (default: --ops)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients of the wait workload")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--api-processes", type=int, default=1, help="Daphne processes (API_PROCESSES)")
    parser.add_argument("--py-spy", type=Path, default=None, help="folder for py-spy profiles of the CPU pass")
    args = parser.parse_args()
    server = OurServer(workers=args.workers, api_processes=args.api_processes)
    try:
        server.start()
        asyncio.run(_measure(server, args))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
