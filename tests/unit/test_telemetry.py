"""Telemetry's pure parts: JSON log lines with the context's ids, route labels, the worker and beat probes, and the
spans of one attempt (an in-process exporter: the attempt's span under the request's, a span per graph node)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import TypedDict

import pytest

from agentplatform import probe
from agentplatform.telemetry import context, metrics, tracing
from agentplatform.telemetry.attempts import attempt_observed
from agentplatform.telemetry.logs import ContextFilter, JsonFormatter, logging_config


def _record(message: str = "run ended", exc_info=None) -> logging.LogRecord:
    record = logging.LogRecord("runs.engine.worker", logging.INFO, __file__, 1, message, (), exc_info)
    ContextFilter().filter(record)
    return record


def test_a_json_line_carries_the_ids_bound_where_it_was_logged():
    fields = context.run_fields(
        run_id="r1",
        thread_id="t1",
        assistant_id="a1",
        attempt=2,
        kwargs={"config": {"configurable": {"graph_id": "echo", "langgraph_request_id": "req-1"}}},
    )
    with context.bound(**fields):
        line = json.loads(JsonFormatter().format(_record()))
    assert line["event"] == "run ended" and line["level"] == "info" and line["logger"] == "runs.engine.worker"
    assert {k: line[k] for k in fields} == {
        "run_id": "r1",
        "thread_id": "t1",
        "assistant_id": "a1",
        "attempt": 2,
        "graph_id": "echo",
        "request_id": "req-1",
    }
    assert "run_id" not in json.loads(JsonFormatter().format(_record()))  # unbound again


def test_a_json_line_keeps_its_traceback_on_one_line():
    try:
        raise ValueError("kaboom")
    except ValueError:
        import sys

        text = JsonFormatter().format(_record("failed", sys.exc_info()))
    assert "\n" not in text and "ValueError: kaboom" in json.loads(text)["exc_info"]


def test_text_stays_the_default_format_and_json_is_a_setting():
    assert "()" not in logging_config(level="INFO", json_lines=False)["formatters"]["default"]
    assert logging_config(level="INFO", json_lines=True)["formatters"]["default"]["()"].endswith("JsonFormatter")


@pytest.mark.parametrize(
    ("route", "label"),
    [
        ("threads/<str:thread_id>/runs/<str:run_id>", "/threads/{thread_id}/runs/{run_id}"),
        ("runs/crons", "/runs/crons"),
        (None, "unmatched"),
    ],
)
def test_routes_are_labelled_as_the_official_server_names_them(route, label):
    assert metrics.route_label(route) == label


def test_the_worker_probe_judges_the_age_of_its_liveness_file(tmp_path, monkeypatch):
    alive = tmp_path / "worker-alive"
    monkeypatch.setenv("WORKER_LIVENESS_FILE", str(alive))
    assert probe.main(["worker"]) == 1  # not reported in yet
    alive.touch()
    assert probe.main(["worker"]) == 0
    os.utime(alive, (time.time() - 400, time.time() - 400))
    assert probe.main(["worker"]) == 1  # stuck past the default 300 s
    assert probe.main(["worker", "--max-age", "500"]) == 0


def test_the_beat_probe_needs_its_file_named():
    healthy, why = probe.check("beat", path="")
    assert not healthy and "BEAT_LIVENESS_FILE" in why


def test_tracing_is_off_and_does_nothing_without_otel_settings(monkeypatch):
    for name in ("OTEL_ENABLED", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    tracing.enabled.cache_clear()
    try:
        configurable: dict = {}
        tracing.inject(configurable)
        assert configurable == {} and not tracing.enabled()
    finally:
        tracing.enabled.cache_clear()


class _State(TypedDict, total=False):
    value: str


@pytest.fixture
def spans(monkeypatch):
    """Tracing on, into an in-memory exporter."""
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "enabled", lambda: True)
    monkeypatch.setattr(tracing, "_tracer", lambda: provider.get_tracer("test"))
    return exporter


def test_an_attempt_continues_the_requests_trace_with_a_span_per_node(spans):
    from langgraph.graph import END, START, StateGraph

    graph = StateGraph(_State)
    graph.add_node("first", lambda state: {"value": "a"})
    graph.add_node("second", lambda state: {"value": "b"})
    graph.add_edge(START, "first").add_edge("first", "second").add_edge("second", END)
    compiled = graph.compile()
    with tracing._tracer().start_as_current_span("POST /threads/{thread_id}/runs"):
        configurable: dict = {}
        tracing.inject(configurable)  # what the API stores in the run's row
    kwargs = {"config": {"configurable": configurable}}

    asyncio.run(attempt_observed(compiled.ainvoke({}), fields={"run_id": "r1", "thread_id": "t1"}, kwargs=kwargs))

    by_name = {span.name: span for span in spans.get_finished_spans()}
    request, attempt = by_name["POST /threads/{thread_id}/runs"], by_name["worker.stream_run"]
    assert attempt.parent.span_id == request.context.span_id
    assert attempt.context.trace_id == request.context.trace_id
    assert attempt.attributes["langsmith.run_id"] == "r1"
    for node in ("node first", "node second"):
        assert by_name[node].parent.span_id == attempt.context.span_id


def test_a_stream_client_is_counted_while_it_is_served():
    from runs.api.stream_views import sse_body

    class Ended:
        async def read(self, block_ms: int):
            return None

    gauge = metrics.stream_clients("sse")

    async def serve() -> list[float]:
        body = sse_body(Ended(), with_ids=True)
        seen = [gauge._value.get()]
        await body.__anext__()  # the response has started
        seen.append(gauge._value.get())
        async for _ in body:
            pass
        return [*seen, gauge._value.get()]

    before, during, after = asyncio.run(serve())
    assert (during - before, after - before) == (1, 0)


def test_api_processes_on_one_socket_share_a_metrics_folder_for_the_scrape(monkeypatch):
    from agentplatform.daphne_server import shared_metrics_dir

    monkeypatch.delenv(metrics.MULTIPROC_DIR_ENV, raising=False)
    with shared_metrics_dir():
        directory = os.environ[metrics.MULTIPROC_DIR_ENV]
        assert os.path.isdir(directory)
        assert metrics._process_registry() is not metrics.REGISTRY  # every process's files, summed
    assert metrics.MULTIPROC_DIR_ENV not in os.environ and not os.path.exists(directory)
    monkeypatch.setenv(metrics.MULTIPROC_DIR_ENV, "/operators/own")
    with shared_metrics_dir():
        assert os.environ[metrics.MULTIPROC_DIR_ENV] == "/operators/own"
