"""The runs' figures in /metrics, read at scrape time from Postgres (and the sweeper's counts from Redis), so that
every worker on every host is counted without an exporter of its own (docs/telemetry.md).

Counters of finished and created runs must not rescan the runs table at every scrape: each API process keeps the
totals of the rows older than SETTLE_SECS (by ended_at, created_at) and adds, at each scrape, only the rows that
became that old since, then the younger ones read afresh. A row written late by a worker whose clock lags by less
than SETTLE_SECS is still counted; the totals only grow (deleted runs stay counted), as counters must, and start
again from the table when the process restarts.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString

from agentplatform.redis_clients import sync_redis
from agentplatform.telemetry.metrics import LATENCY_BUCKETS_MS
from assistants.models import Assistant
from runs.models import Run
from runs.selectors import run_queue_stats

logger = logging.getLogger(__name__)

SETTLE_SECS = 60.0
SWEEPER_KEY = "agentplatform:metrics:sweeper"
_TABLE = Run._meta.db_table
_TERMINAL = ", ".join(f"'{status}'" for status in Run.TERMINAL)
_BOUNDS = [float(b) for b in LATENCY_BUCKETS_MS]

# The rows since `after`, settled (older than `settle`) or not, per (assistant, status): how many, their retries,
# and both latencies by bucket (width_bucket: 0 is below the first bound, len(bounds) above the last).
_FINISHED_SQL = f"""
SELECT ended_at <= %(settle)s::timestamptz, assistant_id, status, count(*), sum(greatest(attempt - 1, 0)),
       width_bucket(run_ms, %(bounds)s::float8[]), width_bucket(wait_ms, %(bounds)s::float8[]),
       sum(run_ms), sum(wait_ms)
  FROM {_TABLE},
       LATERAL (SELECT extract(epoch FROM ended_at - started_at)::float8 * 1000 AS run_ms,
                       extract(epoch FROM started_at - created_at)::float8 * 1000 AS wait_ms) AS ms
 WHERE ended_at > %(after)s::timestamptz AND status IN ({_TERMINAL})
 GROUP BY 1, 2, 3, 6, 7
"""
_CREATED_SQL = f"""
SELECT created_at <= %(settle)s::timestamptz, assistant_id, count(*) FROM {_TABLE}
 WHERE created_at > %(after)s::timestamptz GROUP BY 1, 2
"""
_LEASES_SQL = f"SELECT lease_owner, count(*) FROM {_TABLE} WHERE status = 'running' GROUP BY 1"


@dataclass
class _Latency:
    buckets: list[int] = field(default_factory=lambda: [0] * (len(_BOUNDS) + 1))
    total: float = 0.0

    def add(self, bucket: int | None, count: int, total: float | None) -> None:
        if bucket is not None:
            self.buckets[bucket] += count
            self.total += total or 0.0

    def merge(self, other: _Latency) -> None:
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]
        self.total += other.total

    def cumulative(self) -> list[tuple[str, int]]:
        running, out = 0, []
        for bound, count in zip([*_BOUNDS, float("inf")], self.buckets, strict=True):
            running += count
            out.append((floatToGoString(bound), running))
        return out


@dataclass
class _Finished:
    count: int = 0
    retries: int = 0
    execution: _Latency = field(default_factory=_Latency)
    queue_wait: _Latency = field(default_factory=_Latency)

    def merge(self, other: _Finished) -> None:
        self.count += other.count
        self.retries += other.retries
        self.execution.merge(other.execution)
        self.queue_wait.merge(other.queue_wait)


# A query answers the rows after `after` as two tallies: those older than `settle`, and the younger ones.
Tallies = tuple[dict, dict]


def _finished_rows(after: object, settle: datetime) -> Tallies:
    tallies: Tallies = (defaultdict(_Finished), defaultdict(_Finished))
    with connection.cursor() as cursor:
        cursor.execute(_FINISHED_SQL, {"bounds": _BOUNDS, "after": after, "settle": settle})
        for settled, assistant_id, status, count, retries, run_b, wait_b, run_ms, wait_ms in cursor.fetchall():
            entry = tallies[0 if settled else 1][(assistant_id, status)]
            entry.count += count
            entry.retries += retries or 0
            entry.execution.add(run_b, count, run_ms)
            entry.queue_wait.add(wait_b, count, wait_ms)
    return tallies


def _created_rows(after: object, settle: datetime) -> Tallies:
    tallies: Tallies = ({}, {})
    with connection.cursor() as cursor:
        cursor.execute(_CREATED_SQL, {"after": after, "settle": settle})
        for settled, assistant_id, count in cursor.fetchall():
            tallies[0 if settled else 1][(assistant_id,)] = count
    return tallies


class _Settled:
    """Totals of the rows older than SETTLE_SECS, grown at each scrape; `read` adds the younger rows afresh."""

    def __init__(self, query, merge) -> None:
        self.query, self.merge = query, merge
        self.until: datetime | None = None
        self.totals: dict = {}
        self.lock = threading.Lock()

    def read(self, now: datetime) -> dict:
        settle = now - timedelta(seconds=SETTLE_SECS)
        with self.lock:
            settle = settle if self.until is None else max(settle, self.until)
            settled, fresh = self.query("-infinity" if self.until is None else self.until, settle)
            self._add(self.totals, settled)  # one query a scrape: the newly settled rows, then the younger ones
            self.until = settle
            snapshot = dict(self.totals)
            self._add(snapshot, fresh)
        return snapshot

    def _add(self, into: dict, rows: Mapping) -> None:
        # merge returns a new value: a snapshot shares the totals' values and never changes them.
        for key, value in rows.items():
            into[key] = self.merge(into[key], value) if key in into else value


def _merge_finished(into: _Finished, other: _Finished) -> _Finished:
    merged = _Finished()
    merged.merge(into)
    merged.merge(other)
    return merged


class _GraphIds:
    """assistant_id -> graph_id, asked once per assistant a scrape meets (a deleted assistant's runs: "")."""

    def __init__(self) -> None:
        self.known: dict = {}

    def of(self, assistant_ids: set) -> dict:
        missing = assistant_ids - self.known.keys()
        if missing:
            found = dict(Assistant.objects.filter(assistant_id__in=missing).values_list("assistant_id", "graph_id"))
            self.known.update({a: found.get(a, "") for a in missing})
        return self.known


def _by_graph(rows: Mapping[tuple, object], graph_ids: _GraphIds, merge) -> dict[tuple, object]:
    """Rows keyed (assistant_id, *rest) summed by (graph_id, *rest)."""
    names = graph_ids.of({key[0] for key in rows})
    out: dict[tuple, object] = {}
    for (assistant_id, *rest), value in rows.items():
        key = (names.get(assistant_id, ""), *rest)
        out[key] = merge(out[key], value) if key in out else value
    return out


def _worker_of(lease_owner: str | None) -> str:
    # runs.engine.worker names a lease's owner host:pid:thread; the worker is its process.
    return (lease_owner or "").rsplit(":", 1)[0]


def run_sweep_counts_add(counts: Mapping[str, int]) -> None:
    """Add a sweep's counts to the totals /metrics reports (Redis: losing them only resets a counter)."""
    increments = {name: n for name, n in counts.items() if n}
    if not increments:
        return
    try:
        pipe = sync_redis().pipeline(transaction=False)
        for name, n in increments.items():
            pipe.hincrby(SWEEPER_KEY, name, n)
        pipe.execute()
    except Exception:  # a figure is not worth failing a sweep for
        logger.warning("could not count the sweep's recoveries", exc_info=True)


class RunsCollector:
    """The prometheus_client collector of the runs' figures (agentplatform.telemetry.metrics asks it per scrape)."""

    def __init__(self) -> None:
        self.finished = _Settled(_finished_rows, _merge_finished)
        self.created = _Settled(_created_rows, lambda a, b: a + b)
        self.graph_ids = _GraphIds()

    def collect(self) -> Iterator[Metric]:
        yield from self._queue()
        yield from self._leases()
        yield from self._finished(self.finished.read(timezone.now()))
        yield from self._created(self.created.read(timezone.now()))
        yield from self._sweeps()

    def _queue(self) -> Iterator[Metric]:
        stats = run_queue_stats()
        queue, workers = stats["queue"], stats["workers"]
        gauges = {
            "lg_api_num_pending_runs": ("Runs waiting for a worker.", queue["n_pending"]),
            "lg_api_num_running_runs": ("Runs a worker executes.", queue["n_running"]),
            "lg_api_pending_runs_wait_time_max": (
                "Seconds the oldest pending run has waited.",
                queue["pending_runs_wait_time_max_secs"],
            ),
            "lg_api_pending_runs_wait_time_med": (
                "Median seconds pending runs have waited.",
                queue["pending_runs_wait_time_med_secs"],
            ),
            "lg_api_pending_unblocked_runs_wait_time_max": (
                "Seconds the oldest pending run whose thread runs nothing has waited.",
                queue["pending_unblocked_runs_wait_time_max_secs"],
            ),
            "lg_api_workers_max": ("Runs one worker process executes at once (N_JOBS_PER_WORKER).", workers["max"]),
            "lg_api_workers_active": ("Runs executing, on every worker.", workers["active"]),
            "lg_api_workers_available": ("lg_api_workers_max less lg_api_workers_active.", workers["available"]),
        }
        for name, (doc, value) in gauges.items():
            yield GaugeMetricFamily(name, doc, value=value or 0)

    def _leases(self) -> Iterator[Metric]:
        leases = GaugeMetricFamily(
            "agentplatform_worker_leases", "Running runs leased by each worker process (host:pid).", labels=["worker"]
        )
        per_worker: dict[str, int] = defaultdict(int)
        with connection.cursor() as cursor:
            cursor.execute(_LEASES_SQL)
            for owner, count in cursor.fetchall():
                per_worker[_worker_of(owner)] += count
        for worker, count in sorted(per_worker.items()):
            leases.add_metric([worker], count)
        yield leases

    def _finished(self, rows: dict) -> Iterator[Metric]:
        by_graph = _by_graph(rows, self.graph_ids, _merge_finished)
        finished = CounterMetricFamily(
            "agentplatform_runs_finished", "Runs that ended, by graph and status.", labels=["graph_id", "status"]
        )
        retries = CounterMetricFamily(
            "agentplatform_run_retries", "Attempts beyond the first of runs that ended.", labels=["graph_id", "status"]
        )
        execution = HistogramMetricFamily(
            "lg_api_run_execution_latency",
            "Milliseconds from a run's first start to its end, by graph and status.",
            labels=["graph_id", "status"],
        )
        wait = HistogramMetricFamily(
            "lg_api_run_queue_wait_time_1st_attempt",
            "Milliseconds runs that ended waited in the queue before their first attempt.",
            labels=["graph_id", "status"],
        )
        for (graph_id, status), entry in sorted(by_graph.items()):
            labels = [graph_id, status]
            finished.add_metric(labels, entry.count)
            retries.add_metric(labels, entry.retries)
            execution.add_metric(labels, entry.execution.cumulative(), entry.execution.total)
            wait.add_metric(labels, entry.queue_wait.cumulative(), entry.queue_wait.total)
        yield from (finished, retries, execution, wait)

    def _created(self, rows: dict) -> Iterator[Metric]:
        created = CounterMetricFamily("agentplatform_runs_created", "Runs created, by graph.", labels=["graph_id"])
        for (graph_id,), count in sorted(_by_graph(rows, self.graph_ids, lambda a, b: a + b).items()):
            created.add_metric([graph_id], count)
        yield created

    def _sweeps(self) -> Iterator[Metric]:
        counts = {key.decode(): int(value) for key, value in sync_redis().hgetall(SWEEPER_KEY).items()}
        docs = {
            "requeued": "Runs whose worker's lease expired, given back to pending by the sweeper.",
            "resent": "Doorbells of pending runs no worker answered, sent again by the sweeper.",
        }
        for name, doc in docs.items():
            yield CounterMetricFamily(f"agentplatform_sweeper_{name}", doc, value=counts.get(name, 0))
