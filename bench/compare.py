"""The benchmark of issue 11: the official `langgraph dev` server and agentplatform, one after the other on this
machine, driven by the same client (`langgraph_sdk`, async) with the same graphs (bench/graph.py), on loopback.

    python bench/compare.py [--quick] [--workers 1] [--api-processes 1] [--no-official] [--no-scaling] [--no-floor]

Installs the official server into bench/.official-venv the first time (pinned in bench/requirements-official.txt),
measures it, stops it; starts agentplatform on throwaway PostgreSQL + Redis (Daphne, Celery worker(s), beat),
measures the same figures, then how its cost grows (clients, graph size, state size, memory per worker); stops it;
runs the in-process floor (bench/floor.py). Prints a markdown report and writes it to bench/results/<date>.md.
`--quick` bounds every figure to a few seconds (a few minutes in all); the full run takes under ten minutes.
See docs/benchmarks.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import log, report
from bench.ceiling import Ceiling, measure_ceiling
from bench.figures import (
    FULL,
    NOOP_INPUT,
    QUICK,
    Profile,
    ServerFigures,
    Side,
    Throughput,
    burst,
    client_for,
    peak_rss,
    server_figures,
    wait_throughput,
    warm_up,
)
from bench.floor import Floor, floor
from bench.procs import CpuMeter, rss_bytes
from bench.servers import BENCH, OFFICIAL_REQUIREMENTS, ROOT, OfficialServer, OurServer

# (label, assistant, input, clients): how agentplatform's cost grows, each row against the 16-client noop row.
SCALING = [
    ("noop, 1 client", "noop", NOOP_INPUT, 1),
    ("noop, 4 clients", "noop", NOOP_INPUT, 4),
    ("noop, 16 clients", "noop", NOOP_INPUT, 16),
    ("noop, 64 clients", "noop", NOOP_INPUT, 64),
    ("10 nodes, 16 clients", "ten_nodes", NOOP_INPUT, 16),
    ("1 KB state, 16 clients", "sized", {"size": 1024}, 16),
    ("100 KB state, 16 clients", "sized", {"size": 100 * 1024}, 16),
]
JOBS_PER_WORKER = (10, 100)
# Long enough that every run of the memory burst is in flight at once, even at a few dozen runs accepted a second.
SLEEPER_INPUT = {"seconds": 5.0}


def measure(profile: Profile, workers: int, api: int, official: bool, scale: bool):
    """Both servers up at once (each idle while the other is measured), the side-by-side figures taken figure by
    figure on each (bench/figures.server_figures); then the official server is stopped and agentplatform's own
    tables are taken. Returns (official figures or None, ours, scaling rows, memory rows, client ceilings)."""
    official_server = OfficialServer() if official else None
    ours = OurServer(workers=workers, api_processes=api)
    try:
        if official_server:
            official_server.start()
        ours.start()
        # Before and after: the machine's own speed drifts over minutes; the server-less ceiling shows by how much.
        ceilings = [("before the side-by-side figures", measure_ceiling(profile))]
        figures = asyncio.run(_side_by_side(official_server, ours, profile))
        ceilings.append(("after them", measure_ceiling(profile)))
        if official_server:
            official_server.stop()  # before our own tables; stopping it again in `finally` does nothing
        rows, memory = (
            asyncio.run(_own_tables(ours, profile, figures["agentplatform"].throughput)) if scale else ([], [])
        )
        return figures.get("official"), figures["agentplatform"], rows, memory, ceilings
    finally:
        if official_server:
            official_server.stop()
        log("stopping agentplatform")
        ours.stop()


async def _side_by_side(official: OfficialServer | None, ours: OurServer, profile: Profile) -> dict:
    log("measuring " + ("the official server and agentplatform, figure by figure" if official else "agentplatform"))
    async with contextlib.AsyncExitStack() as stack:
        sides = []
        if official:
            client = await stack.enter_async_context(client_for(official.url))
            sides.append(Side("official", client, CpuMeter(official.cpu_groups())))
        client = await stack.enter_async_context(client_for(ours.url))
        sides.append(Side("agentplatform", client, CpuMeter(ours.cpu_groups())))
        return await server_figures(sides, profile)


async def _own_tables(server: OurServer, profile: Profile, sixteen: Throughput) -> tuple[list, list]:
    async with client_for(server.url) as client:
        rows = await _scaling(client, CpuMeter(server.cpu_groups()), profile, sixteen)
    return rows, await _memory(server, profile)


async def _scaling(client, meter: CpuMeter, profile: Profile, sixteen: Throughput) -> list[tuple[str, Throughput]]:
    log("measuring how agentplatform's cost grows")
    await warm_up(client, {"ten_nodes": NOOP_INPUT, "sized": {"size": 100 * 1024}})
    rows = []
    for label, assistant, body, clients in SCALING:
        if (assistant, clients) == ("noop", 16):
            rows.append((label, sixteen))
            continue
        runs, seconds = profile.throughput_runs, profile.scale_seconds
        figures = await wait_throughput(
            client, meter, clients=clients, runs=runs, seconds=seconds, assistant=assistant, body=body
        )
        rows.append((label, figures))
    return rows


async def _memory(server: OurServer, profile: Profile) -> list[tuple]:
    """RSS of each worker process with N_JOBS_PER_WORKER 10 and 100: warmed up, and at its peak while as many
    `sleeper` runs as it has slots are in flight."""
    rows = []
    for jobs in JOBS_PER_WORKER:
        log(f"measuring worker memory with N_JOBS_PER_WORKER={jobs}")
        server.restart_workers(jobs)  # a fresh worker for each row, with the same warm-up
        async with client_for(server.url) as client:
            await warm_up(client, {"noop": NOOP_INPUT, "sleeper": {"seconds": 0}})
            pids = server.worker_pids()
            idle = rss_bytes(pids) // len(pids)
            with peak_rss(pids) as peak:
                runs = jobs * len(pids)
                result = await burst(
                    client, runs=runs, assistant="sleeper", body=SLEEPER_INPUT, timeout=profile.burst_timeout
                )
        rows.append((jobs, idle, peak[0] // len(pids), result))
    return rows


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def _official_versions() -> str:
    wanted = ("langgraph-cli==", "langgraph-api==", "langgraph-runtime-inmem==")
    return ", ".join(line for line in OFFICIAL_REQUIREMENTS.read_text().splitlines() if line.startswith(wanted))


def header(profile: Profile, workers: int, api: int, loads: tuple, elapsed: float) -> str:
    dirty = " + uncommitted changes" if _git("status", "--porcelain", "--untracked-files=no") else ""
    return "\n".join(
        [
            f"# Benchmark {datetime.now():%Y-%m-%d %H:%M}: official `langgraph dev` vs agentplatform",
            "",
            f"- command: `{' '.join(['python', 'bench/compare.py', *sys.argv[1:]])}`",
            f"- commit: {_git('rev-parse', '--short', 'HEAD')}{dirty} ({_git('log', '-1', '--format=%s')})",
            f"- machine: {os.cpu_count()} CPUs; load average {loads[0]:.2f} before, {loads[1]:.2f} after; "
            f"{elapsed / 60:.1f} min in all",
            f"- official: {_official_versions()}, in memory, `--n-jobs-per-worker` default (10)",
            f"- agentplatform: {api} Daphne process(es), {workers} Celery worker(s) (N_JOBS_PER_WORKER "
            f"{os.environ.get('N_JOBS_PER_WORKER', '10')}, but for the memory table), beat, PostgreSQL (fsync on), "
            "Redis",
            f"- profile `{profile.name}`: create+wait p50 ≤ {profile.wait_runs} runs/{profile.wait_seconds:.0f} s; "
            f"throughput ≤ {profile.throughput_runs} runs/{profile.throughput_seconds:.0f} s; burst "
            f"{profile.burst_runs} runs; streams ≤ {profile.stream_runs} runs/{profile.stream_seconds:.0f} s; "
            f"scaling rows ≤ {profile.scale_seconds:.0f} s each",
        ]
    )


def render(
    official: ServerFigures | None,
    ours: ServerFigures,
    rows: list,
    memory: list,
    floor: Floor | None,
    ceilings: list[tuple[str, Ceiling]],
) -> str:
    parts = ["## Side by side, against the targets of issue 11", report.side_by_side(official, ours)]
    parts += [report.ceiling_table(ceilings)]
    parts += [
        report.cpu_breakdown("agentplatform, server CPU per run by process (16 clients, create+wait)", ours.throughput)
    ]
    if official:
        parts += [report.cpu_breakdown("official, server CPU per run (16 clients, create+wait)", official.throughput)]
    if rows:
        parts += ["## agentplatform: how cost grows", report.scaling(rows)]
        parts += ["## agentplatform: memory per worker process", report.memory(memory)]
    if floor:
        parts += ["## The floor: the noop graph in-process with LangGraph's Postgres checkpointer (fsync off)"]
        parts += [report.floor_table(floor)]
    return "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every figure bounded to a few seconds")
    parser.add_argument("--workers", type=int, default=1, help="agentplatform's Celery worker processes")
    parser.add_argument("--api-processes", type=int, default=1, help="agentplatform's Daphne processes")
    parser.add_argument("--no-official", action="store_true", help="measure agentplatform only")
    parser.add_argument("--no-scaling", action="store_true", help="skip agentplatform's scaling and memory tables")
    parser.add_argument("--no-floor", action="store_true", help="skip the in-process floor")
    parser.add_argument("--out", type=Path, default=BENCH / "results", help="where the report is written")
    args = parser.parse_args()
    profile = QUICK if args.quick else FULL
    start, load_before = time.monotonic(), os.getloadavg()[0]
    official, ours, rows, memory, ceilings = measure(
        profile, args.workers, args.api_processes, official=not args.no_official, scale=not args.no_scaling
    )
    if not args.no_floor:
        log("measuring the in-process floor")
    floor_result = None if args.no_floor else floor(runs=profile.floor_runs)
    loads = (load_before, os.getloadavg()[0])
    text = header(profile, args.workers, args.api_processes, loads, time.monotonic() - start) + "\n\n"
    text += render(official, ours, rows, memory, floor_result, ceilings) + "\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{datetime.now():%Y-%m-%d_%H%M}.md"
    path.write_text(text)
    log(f"written to {path}")


if __name__ == "__main__":
    main()
