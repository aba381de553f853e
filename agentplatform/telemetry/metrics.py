"""/metrics in Prometheus' text format: what each API process records itself (HTTP requests by route, stream
clients), then what every scrape reads from Postgres and Redis (the runs; registered by the apps with
`scrape_collector_register`), so that figures of workers on any host need no exporter of their own.

Under `python -m agentplatform.daphne_server --processes N` the API processes share one port and a scrape reaches
one of them: the launcher gives them a PROMETHEUS_MULTIPROC_DIR, where prometheus_client's multiprocess mode keeps
each process's values, and every scrape adds them up. Names are the official server's where it has the figure
(`lg_api_http_requests_total`, `lg_api_http_requests_latency` in milliseconds); docs/telemetry.md lists them all.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The official server's latency buckets (seconds), in milliseconds as its 0.16 /metrics reports latencies.
LATENCY_BUCKETS_MS = (10, 100, 500, 1000, 5000, 15000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000)
# Routes left out of the HTTP figures, as officially: the probes and the metrics themselves.
UNMEASURED_ROUTES = frozenset({"/ok", "/ready", "/info", "/metrics", "/docs", "/openapi.json"})
UNMATCHED_ROUTE = "unmatched"  # a path no route matches (404s): one label value, not one per path

disable_created_metrics()  # no `_created` series beside each counter: the official exposes none either

HTTP_REQUESTS = Counter(
    "lg_api_http_requests", "HTTP requests by method, route pattern and status.", ["method", "path", "status"]
)
HTTP_LATENCY = Histogram(
    "lg_api_http_requests_latency",
    "HTTP request latency in milliseconds (streams: until the response starts).",
    ["method", "path"],
    buckets=LATENCY_BUCKETS_MS,
)
STREAM_CLIENTS = Gauge(
    "agentplatform_stream_clients",
    "Clients following a run or thread stream (SSE responses, websocket connections).",
    ["transport"],
    multiprocess_mode="livesum",
)

_DJANGO_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


@lru_cache(maxsize=512)
def route_label(route: str | None) -> str:
    """Django's route ("threads/<str:thread_id>/runs") as the official server names it ("/threads/{thread_id}/runs")."""
    if route is None:
        return UNMATCHED_ROUTE
    return "/" + _DJANGO_PARAM.sub(r"{\1}", route)


def stream_clients(transport: str) -> Any:
    """The gauge of one transport's stream clients: `inc()` when one starts, `dec()` when it ends."""
    return STREAM_CLIENTS.labels(transport)


# The labelled series of each (method, route, status), looked up once: `labels()` validates and locks each time. As
# many as the routes times their methods and statuses (paths no route matches share one label).
_request_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def http_request_observe(*, method: str, path: str, status: int, seconds: float) -> None:
    """Count one request (a few microseconds)."""
    if path in UNMEASURED_ROUTES:
        return
    key = (method, path, status)
    series = _request_series.get(key)
    if series is None:
        series = _request_series[key] = (
            HTTP_REQUESTS.labels(method, path, str(status)),
            HTTP_LATENCY.labels(method, path),
        )
    series[0].inc()
    series[1].observe(seconds * 1000)


class _ScrapeCollectors:
    collectors: list[Collector] = []


def scrape_collector_register(collector: Collector) -> None:
    """Add a collector asked at every scrape (an app's figures read from the database)."""
    if collector not in _ScrapeCollectors.collectors:
        _ScrapeCollectors.collectors.append(collector)


class _Guarded:
    """A scrape collector whose failure (the database is away) drops its figures, not the whole scrape."""

    def __init__(self, collectors: Iterable[Collector]) -> None:
        self.collectors = list(collectors)

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            started = time.perf_counter()
            try:
                yield from list(collector.collect())
            except Exception:
                logger.warning("metrics: %s failed, its figures are left out", type(collector).__name__, exc_info=True)
            logger.debug("metrics: %s took %.1f ms", type(collector).__name__, (time.perf_counter() - started) * 1e3)


def _process_registry() -> CollectorRegistry:
    """This process's own figures, or with several API processes on one port all of theirs, summed."""
    directory = os.environ.get(MULTIPROC_DIR_ENV)
    if not directory:
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return registry


def exposition() -> bytes:
    """The scrape's body. Blocking (the scrape collectors query the database): call it off the event loop."""
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(_Guarded(_ScrapeCollectors.collectors))
    return generate_latest(_process_registry()) + generate_latest(scraped)
