"""How long a /metrics scrape takes with 100k runs in the database (issue 14: under 50 ms).

    python bench/metrics_scrape.py [--runs 100000] [--threads 10000] [--recent 1000] [--repeat 30]

Fills a throwaway PostgreSQL as bench/admin_pages.py does (100k runs over 30 days, a queue, leases held by four
workers), then makes `recent` of the runs end within the last minute (a busy service: the rows every scrape reads
afresh, runs/metrics.py) and scrapes /metrics in process through Django's test client: the first scrape of a
process (it adds up every run once), then the median and 95th percentile of `repeat` scrapes, with their SQL. The
report goes to stdout and to bench/results/metrics_scrape.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# bench/ (this script's folder, later the bench graphs' too) has a profile.py that would shadow the standard
# library's, which cProfile imports: import both before anything puts bench/ on the path again.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH]
import cProfile  # noqa: E402
import pstats  # noqa: E402

from agentplatform.embedded import remove_data  # noqa: E402
from bench import log  # noqa: E402
from bench.admin_pages import _fill, _services  # noqa: E402

TARGET_MS = 50
RESULTS = BENCH / "results" / "metrics_scrape.md"
RECENT_SQL = """
UPDATE runs_run SET ended_at = now() - make_interval(secs => random() * 50),
                    started_at = now() - make_interval(secs => 55 + random() * 5)
 WHERE run_id IN (SELECT run_id FROM runs_run WHERE status IN ('success', 'error') ORDER BY run_id LIMIT %(n)s)
"""


def _timed_scrape(client) -> float:
    """Milliseconds of one scrape (its SQL runs on a thread of its own: see _parts for the queries)."""
    started = time.perf_counter()
    response = client.get("/metrics")
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.content[:300]
    assert b"agentplatform_runs_finished_total" in response.content
    return elapsed


def _parts() -> list[tuple[str, float, int, float]]:
    """What each part of the runs' figures costs, asked in this thread (so its SQL can be counted)."""
    from django.db import connection
    from django.utils.timezone import now

    from runs.metrics import RunsCollector

    collector = RunsCollector()
    list(collector.collect())  # the first scrape of this collector adds up every run: not measured here
    parts = {
        "queue (lg_api_num_*, waits)": lambda: list(collector._queue()),
        "leases per worker": lambda: list(collector._leases()),
        "finished runs, histograms": lambda: list(collector._finished(collector.finished.read(now()))),
        "created runs": lambda: list(collector._created(collector.created.read(now()))),
        "sweeper counts (Redis)": lambda: list(collector._sweeps()),
    }
    if os.environ.get("BENCH_SHOW_SQL"):
        _explain(collector)
    if os.environ.get("BENCH_PROFILE"):
        from agentplatform.telemetry.metrics import exposition

        profile = cProfile.Profile()
        for _ in range(20):
            profile.runcall(exposition)
        pstats.Stats(profile, stream=sys.stderr).sort_stats(
            os.environ.get("BENCH_PROFILE_SORT", "tottime")
        ).print_stats(25)
    rows = []
    for name, part in parts.items():
        times, queries = [], []

        def timed(execute, sql, *args, queries=queries):
            started = time.perf_counter()
            try:
                return execute(sql, *args)
            finally:
                queries.append((time.perf_counter() - started) * 1000)

        for _ in range(10):
            queries.clear()
            started = time.perf_counter()
            with connection.execute_wrapper(timed):
                part()
            times.append((time.perf_counter() - started) * 1000)
        rows.append((name, statistics.median(times), len(queries), sum(queries)))
    return rows


def _explain(collector) -> None:
    """The plans of the finished-runs queries (BENCH_SHOW_SQL=1)."""
    from django.db import connection

    from runs import metrics

    params = {"bounds": metrics._BOUNDS, "after": collector.finished.until, "settle": collector.finished.until}
    with connection.cursor() as cursor:
        for sql in (metrics._FINISHED_SQL, metrics._CREATED_SQL):
            cursor.execute("EXPLAIN ANALYZE " + sql, params)
            log("\n".join(row[0] for row in cursor.fetchall()))


def _report(args: argparse.Namespace, first: tuple, times: list[float], parts: list, size: int) -> str:
    from runs.models import Run

    times.sort()
    median, p95 = statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    verdict = "yes" if p95 < TARGET_MS else "NO"
    return "\n".join(
        [
            f"/metrics with {Run.objects.count():,} runs, {args.recent} of them ended in the last minute "
            f"(`python bench/metrics_scrape.py --runs {args.runs} --recent {args.recent} --repeat {args.repeat}`), "
            f"scraped in process by Django's test client; target {TARGET_MS} ms. Load average: "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.",
            "",
            "| scrape | ms | SQL queries | SQL ms | under target |",
            "|---|---:|---:|---:|---|",
            f"| first of a process (adds up every run) | {first:.0f} | | | - |",
            f"| then, median of {args.repeat} | {median:.1f} | | | - |",
            f"| then, p95 | {p95:.1f} | | | {verdict} |",
            *(f"| part: {name} (median of 10) | {ms:.1f} | {n} | {sql:.1f} | |" for name, ms, n, sql in parts),
            "",
            f"Body: {size:,} bytes.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--recent", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="agentplatform-bench-metrics-"))
    postgres, redis = _services(data)
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(32))  # a throwaway server's
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from agentplatform import startup

        log("migrating")
        call_command("migrate", verbosity=0)
        startup.process_start(kind="api")
        _fill(args)
        with connection.cursor() as cursor:
            cursor.execute(RECENT_SQL, {"n": args.recent})
            cursor.execute("ANALYZE runs_run")
        client = Client()
        first = _timed_scrape(client)
        steady = [_timed_scrape(client) for _ in range(args.repeat)]
        size = len(client.get("/metrics").content)
        report = _report(args, first, steady, _parts(), size)
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(report + "\n")
        print(report)
    finally:
        from django.db import connections

        connections.close_all()
        redis.stop()
        postgres.stop()
        remove_data(data)


if __name__ == "__main__":
    main()
