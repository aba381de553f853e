"""How long the admin takes to render each of its pages with 100k runs and 10k threads (issue 14: under 300 ms).

    python bench/admin_pages.py [--runs 100000] [--threads 10000] [--repeat 15]

Starts a throwaway PostgreSQL and Redis (agentplatform.embedded), migrates, fills the tables in bulk with SQL
(runs spread over 30 days, mostly successes, some errors, a queue, leases held by workers), then renders every
page in process through Django's test client as a logged-in superuser: the median and 95th percentile of
`repeat` renders after two warm-ups, and the number of SQL queries one render makes (a count that grows with the
data would be an N+1). The report goes to stdout and to bench/results/admin_pages.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agentplatform.embedded import EmbeddedPostgres, EmbeddedRedis, free_port, remove_data  # noqa: E402
from bench import log  # noqa: E402

TARGET_MS = 300
RESULTS = BENCH / "results" / "admin_pages.md"
THREADS_SQL = """
INSERT INTO threads_thread (thread_id, created_at, updated_at, state_updated_at, metadata, status, config, values,
                            interrupts, error)
SELECT gen_random_uuid(), now() - make_interval(secs => i * 250), now() - make_interval(secs => i * 200),
       now() - make_interval(secs => i * 200),
       jsonb_build_object('graph_id', 'chat', 'assistant_id', %(assistant)s::text, 'owner', 'user-' || (i %% 97)),
       CASE WHEN i %% 50 = 0 THEN 'interrupted' WHEN i %% 23 = 0 THEN 'error' ELSE 'idle' END, '{}'::jsonb,
       jsonb_build_object('messages', jsonb_build_array(
         jsonb_build_object('type', 'human', 'content', 'question ' || i),
         jsonb_build_object('type', 'ai', 'content', repeat('answer ', 40)))),
       '{}'::jsonb, NULL
FROM generate_series(1, %(threads)s) AS i
"""
RUNS_SQL = """
WITH numbered AS (SELECT thread_id, row_number() OVER (ORDER BY thread_id) - 1 AS n FROM threads_thread),
     spread AS (SELECT i, now() - make_interval(secs => i::float8 / %(runs)s * 30 * 86400) AS at
                  FROM generate_series(1, %(runs)s) AS i)
INSERT INTO runs_run (run_id, thread_id, assistant_id, status, metadata, kwargs, multitask_strategy, created_at,
                      updated_at, available_at, attempt, started_at, ended_at, temporary, output, error)
SELECT gen_random_uuid(), numbered.thread_id, %(assistant)s,
       CASE WHEN i %% 100 < 90 THEN 'success' WHEN i %% 100 < 96 THEN 'error' WHEN i %% 100 < 98 THEN 'interrupted'
            ELSE 'timeout' END,
       jsonb_build_object('graph_id', 'chat', 'assistant_id', %(assistant)s::text),
       jsonb_build_object(
         'input', jsonb_build_object('messages', jsonb_build_array(jsonb_build_object('role', 'user',
                                                                                      'content', 'question ' || i))),
         'config', jsonb_build_object('configurable', jsonb_build_object('graph_id', 'chat', 'run_id', i::text)),
         'context', '{}'::jsonb, 'stream_mode', '["values"]'::jsonb, 'command', NULL),
       'enqueue', at, at, at, 1, at + interval '1 second', at + interval '2 seconds', false,
       CASE WHEN i %% 100 < 90 THEN jsonb_build_object('messages', jsonb_build_array()) END,
       CASE WHEN i %% 100 >= 90 AND i %% 100 < 96
            THEN jsonb_build_object('error', 'ValueError', 'message', 'kaboom ' || i)
            WHEN i %% 100 >= 98 THEN jsonb_build_object('error', 'TimeoutError', 'message', 'Run timed out') END
FROM spread JOIN numbered ON numbered.n = spread.i %% %(threads)s
"""
# The queue and the workers: pending runs (half of them delayed) and running runs on distinct threads, leased.
QUEUE_SQL = """
UPDATE runs_run SET status = 'pending', ended_at = NULL, started_at = NULL, output = NULL, error = NULL,
       available_at = now() + make_interval(secs => (random() - 0.5) * 600)
 WHERE run_id IN (SELECT run_id FROM runs_run ORDER BY created_at DESC LIMIT 200);
UPDATE runs_run SET status = 'running', ended_at = NULL, output = NULL, error = NULL,
       lease_owner = 'bench-host-' || (abs(hashtext(run_id::text)) %% 4) || ':4242:'
                     || (abs(hashtext(run_id::text)) %% 10),
       lease_token = gen_random_uuid(), lease_expires_at = now() + interval '60 seconds'
 WHERE run_id IN (SELECT DISTINCT ON (thread_id) run_id FROM runs_run WHERE status <> 'pending'
                   ORDER BY thread_id, created_at DESC LIMIT 40);
"""
ASSISTANTS_SQL = """
INSERT INTO assistants_assistant (assistant_id, graph_id, name, description, config, context, metadata, version,
                                  created_at, updated_at)
SELECT gen_random_uuid(), 'chat', 'assistant ' || i, NULL, '{}'::jsonb, '{}'::jsonb,
       jsonb_build_object('team', 'team-' || (i %% 7)), 5, now() - make_interval(days => i), now()
FROM generate_series(1, %(assistants)s) AS i;
INSERT INTO assistants_assistantversion (assistant_id, version, graph_id, name, description, config, context,
                                         metadata, created_at)
SELECT a.assistant_id, v, 'chat', a.name, NULL, jsonb_build_object('configurable', jsonb_build_object('v', v)),
       jsonb_build_object('v', v), a.metadata, a.created_at + make_interval(hours => v)
FROM assistants_assistant a CROSS JOIN generate_series(1, 5) AS v WHERE a.name LIKE 'assistant %%';
"""
CRONS_SQL = """
INSERT INTO crons_cron (cron_id, assistant_id, thread_id, schedule, timezone, payload, next_run_date, metadata,
                        on_run_completed, enabled, created_at, updated_at)
SELECT gen_random_uuid(), %(assistant)s, NULL, (i %% 60) || ' * * * *', NULL,
       jsonb_build_object('assistant_id', %(assistant)s::text, 'input', '{}'::jsonb),
       now() + make_interval(mins => i %% 60), '{}'::jsonb, 'delete', i %% 10 <> 0, now(), now()
FROM generate_series(1, %(crons)s) AS i
"""
STORE_SQL = """
INSERT INTO store (prefix, key, value)
SELECT 'users.user-' || (i %% 500) || '.' || (CASE WHEN i %% 2 = 0 THEN 'memories' ELSE 'preferences' END),
       'item-' || i,
       jsonb_build_object('text', 'remember ' || i, 'kind', CASE WHEN i %% 3 = 0 THEN 'note' ELSE 'fact' END)
FROM generate_series(1, %(items)s) AS i
"""


def _services(data: Path) -> tuple[EmbeddedPostgres, EmbeddedRedis]:
    postgres = EmbeddedPostgres(data / "pg", free_port(), durable=False).start()
    redis = EmbeddedRedis(data / "redis", free_port()).start()
    os.environ.update(
        DATABASE_URI=postgres.uri,
        REDIS_URI=redis.uri,
        LANGGRAPH_CONFIG=str(BENCH / "langgraph.json"),
        AGENTPLATFORM_DATA_DIR=str(data),
        DJANGO_SETTINGS_MODULE="agentplatform.settings",
        LOG_LEVEL="ERROR",  # the bench graphs' schemas warn on Python 3.11
    )
    return postgres, redis


def _fill(args: argparse.Namespace) -> None:
    from django.db import connection

    from assistants.models import system_assistant_id

    params = {
        "assistant": system_assistant_id("chat"),
        "threads": args.threads,
        "runs": args.runs,
        "assistants": 200,
        "crons": 500,
        "items": 5000,
    }
    with connection.cursor() as cursor:
        for name, sql in (("threads", THREADS_SQL), ("runs", RUNS_SQL), ("queue", QUEUE_SQL)):
            log(f"filling {name}")
            cursor.execute(sql, params)
        for name, sql in (("assistants", ASSISTANTS_SQL), ("crons", CRONS_SQL), ("store", STORE_SQL)):
            log(f"filling {name}")
            cursor.execute(sql, params)
        cursor.execute("ANALYZE")


def _thread_with_history(checkpoints: int) -> str:
    """A thread whose state has a history to page through: `checkpoints` real ones from the chat graph."""
    from threads.models import Thread
    from threads.services import thread_state_update

    thread = Thread.objects.order_by("-updated_at").first()
    for index in range(checkpoints):
        role = "human" if index % 2 == 0 else "ai"
        message = {"type": role, "content": f"turn {index}"}
        thread_state_update(thread_id=thread.thread_id, values={"messages": [message]}, as_node="talk")
    return str(thread.thread_id)


def _pages() -> list[tuple[str, str]]:
    from access.models import ApiKey
    from assistants.models import Assistant
    from crons.models import Cron
    from runs.models import Run
    from store.models import StoreItem

    failed = Run.objects.filter(status="error").order_by("-created_at").values_list("run_id", flat=True).first()
    assistant = Assistant.objects.filter(name__startswith="assistant ").first()
    cron = Cron.objects.first()
    item = StoreItem.objects.first()
    ApiKey.objects.create(label="bench", owner="bench", prefix="bench", key_hash="0" * 64)
    return [
        ("dashboard (admin index)", "/admin/"),
        ("runs: list", "/admin/runs/run/"),
        ("runs: list, status=error", "/admin/runs/run/?status__exact=error"),
        ("runs: list, page 50", "/admin/runs/run/?p=50"),
        ("runs: search by run id", f"/admin/runs/run/?q={failed}"),
        ("runs: run page", f"/admin/runs/run/{failed}/change/"),
        ("runs: run events (JSON)", f"/admin/runs/run/{failed}/events/"),
        ("threads: list", "/admin/threads/thread/"),
        ("threads: list, status=interrupted", "/admin/threads/thread/?status__exact=interrupted"),
        ("threads: search metadata", "/admin/threads/thread/?q=user-42"),
        ("threads: thread page (history, chat, runs)", None),
        ("assistants: list", "/admin/assistants/assistant/"),
        ("assistants: assistant page (graph, schemas)", f"/admin/assistants/assistant/{assistant.pk}/change/"),
        ("assistants: versions and diff", f"/admin/assistants/assistant/{assistant.pk}/versions/"),
        ("crons: list", "/admin/crons/cron/"),
        ("crons: cron page", f"/admin/crons/cron/{cron.pk}/change/"),
        ("store: list", "/admin/store/storeitem/"),
        ("store: item page", f"/admin/store/storeitem/{_quoted(item.pk)}/change/"),
        ("store: namespace tree", "/admin/store/storeitem/tree/?namespace=users"),
        ("API keys: list", "/admin/access/apikey/"),
    ]


def _quoted(pk: str) -> str:
    from django.contrib.admin.utils import quote

    return quote(pk)


def _measure(client, url: str, repeat: int) -> tuple[float, float, float, int, float]:
    """(median ms, p95 ms, median CPU ms of this process, SQL queries, SQL ms) of rendering `url`; the queries
    are those of one more render. CPU time tells Python's share apart from waiting on a busy machine."""
    from django.db import connection

    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:500])
    queries: list[tuple[float, str]] = []

    def timed(execute, sql, *args):
        started = time.perf_counter()
        try:
            return execute(sql, *args)
        finally:
            queries.append(((time.perf_counter() - started) * 1000, sql))

    with connection.execute_wrapper(timed):
        client.get(url)
    _explain(client, url, queries)
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, statistics.median(cpu), len(queries), sum(ms for ms, _ in queries)


def _explain(client, url: str, queries: list[tuple[float, str]]) -> None:
    """With BENCH_SHOW_SQL=1, the slowest queries of a render; with BENCH_PROFILE=1, a profile of one more
    (BENCH_PROFILE_SORT: a pstats order, default cumulative; BENCH_PROFILE_LINES: how many rows, default 30)."""
    if os.environ.get("BENCH_SHOW_SQL"):
        for ms, sql in sorted(queries, reverse=True)[:3]:
            log(f"  {ms:.1f} ms: {sql[:300]}")
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.runcall(client.get, url)
        order = os.environ.get("BENCH_PROFILE_SORT", "cumulative")
        lines = int(os.environ.get("BENCH_PROFILE_LINES", "30"))
        pstats.Stats(profile, stream=sys.stderr).sort_stats(order).print_stats(lines)


def _report(args: argparse.Namespace, rows: list[tuple[str, float, float, float, int, float]]) -> str:
    from runs.models import Run
    from threads.models import Thread

    lines = [
        f"Admin pages with {Run.objects.count():,} runs and {Thread.objects.count():,} threads "
        f"(`python bench/admin_pages.py --runs {args.runs} --threads {args.threads} --repeat {args.repeat}`), "
        f"rendered in process by Django's test client; target {TARGET_MS} ms. Load average during the run: "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (above the CPU count, wall times include waiting).",
        "",
        "| page | median ms | p95 ms | Python CPU ms | SQL queries | SQL ms | under target |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, median, p95, cpu, queries, sql_ms in rows:
        verdict = "yes" if p95 < TARGET_MS else "NO"
        lines.append(f"| {name} | {median:.0f} | {p95:.0f} | {cpu:.0f} | {queries} | {sql_ms:.0f} | {verdict} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--only", default="", help="measure only the pages whose name contains this text")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="agentplatform-bench-admin-"))
    postgres, redis = _services(data)
    try:
        import django

        django.setup()
        from django.contrib.auth.models import User
        from django.core.management import call_command
        from django.test import Client

        from agentplatform import startup

        log("migrating")
        call_command("migrate", verbosity=0)
        startup.process_start(kind="api")
        _fill(args)
        history_thread = _thread_with_history(60)
        client = Client()
        client.force_login(User.objects.create_superuser("bench", "bench@example.com", "bench"))
        rows = []
        for name, url in _pages():
            if args.only not in name:
                continue
            url = url or f"/admin/threads/thread/{history_thread}/change/"
            log(f"rendering {name}")
            rows.append((name, *_measure(client, url, args.repeat)))
        report = _report(args, rows)
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(report + "\n")
        print(report)
    finally:
        from django.db import connections

        connections.close_all()
        from agentplatform.persistence import close_sync_checkpointer
        from store.backend import close_sync_store

        close_sync_store()
        close_sync_checkpointer()
        redis.stop()
        postgres.stop()
        remove_data(data)


if __name__ == "__main__":
    main()
