"""Telemetry on a real stack of its own: Daphne and two Celery workers with JSON logs and traces sent over OTLP/HTTP
to a collector in this test. /metrics moves as runs execute across both workers, a run's log lines carry its ids
and the request id, and one trace goes from the API request through the queue to the graph's node."""

from __future__ import annotations

import json
import secrets
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agentplatform.embedded import free_port
from tests.conftest import INTEGRATION_ENV
from tests.stack import Stack, redis_database, wait_for

pytestmark = pytest.mark.integration
try:  # requirements-otel.txt (in requirements-dev.txt); without it only the trace test is skipped
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb2
except ImportError:
    trace_pb2 = None


class _Collector(ThreadingHTTPServer):
    """The smallest OTLP/HTTP trace receiver (keeps every span it is sent), and a stand-in for LangSmith's API
    (keeps the path of every request, answers `{}`)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", free_port()), _Receive)
        self.spans: list = []
        self.langsmith: list[str] = []
        self.lock = threading.Lock()


class _Receive(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/v1/traces":
            return self._langsmith()
        request = trace_pb2.ExportTraceServiceRequest()
        request.ParseFromString(body)
        spans = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
        with self.server.lock:
            self.server.spans.extend(spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(trace_pb2.ExportTraceServiceResponse().SerializeToString())

    def do_GET(self) -> None:
        self._langsmith()

    do_PATCH = do_PUT = do_GET

    def _langsmith(self) -> None:
        with self.server.lock:
            self.server.langsmith.append(f"{self.command} {self.path}")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def collector():
    server = _Collector()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def telemetry_stack(collector):
    env = {
        **INTEGRATION_ENV,
        "REDIS_URI": redis_database(9),  # a Celery queue of its own (see tests.stack.redis_database)
        "N_JOBS_PER_WORKER": "2",  # four runs fill both workers
        "LOG_JSON": "true",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{collector.server_port}/v1/traces",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        # LangSmith tracing as a user turns it on, towards the stand-in.
        "LANGSMITH_TRACING": "true",
        "LANGSMITH_ENDPOINT": f"http://127.0.0.1:{collector.server_port}",
        "LANGSMITH_API_KEY": "lsv2-test-key",
    }
    stack = Stack(base_env=env, log_dir=Path(tempfile.mkdtemp(prefix="agentplatform-telemetry-")))
    stack.create_database()
    for name in ("worker", "worker2"):
        stack.start_worker(name, wait=False)
    stack.start_api()  # while the workers start
    for name in ("worker", "worker2"):
        stack.wait_ready(name)
    yield stack
    stack.stop_all()


def _scrape(stack: Stack) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} of one /metrics scrape."""
    response = httpx.get(f"{stack.url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(scrape: dict, name: str, **labels: str) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


def _samples(scrape: dict, name: str) -> dict[tuple, float]:
    return {labels: value for (sample, labels), value in scrape.items() if sample == name}


def _sleepy_runs(stack: Stack, count: int, seconds: float) -> list[tuple[str, str]]:
    runs = []
    for _ in range(count):
        thread = httpx.post(f"{stack.url}/threads", json={}, timeout=10).json()["thread_id"]
        body = {"assistant_id": "sleepy", "input": {"seconds": seconds}}
        run = httpx.post(f"{stack.url}/threads/{thread}/runs", json=body, timeout=10)
        assert run.status_code == 200, run.text
        runs.append((thread, run.json()["run_id"]))
    return runs


def test_metrics_move_as_runs_execute_across_two_workers(telemetry_stack):
    before = _scrape(telemetry_stack)
    runs = _sleepy_runs(telemetry_stack, 4, seconds=60.0)  # cancelled once seen running

    def both_workers_busy():
        scrape = _scrape(telemetry_stack)
        leases = _samples(scrape, "agentplatform_worker_leases")
        return scrape if _value(scrape, "lg_api_num_running_runs") == 4 and sorted(leases.values()) == [2, 2] else None

    during = wait_for(both_workers_busy, timeout=30, every=0.2)
    assert _value(during, "lg_api_workers_active") == 4
    assert len(_samples(during, "agentplatform_worker_leases")) == 2  # two worker processes, two leases each
    for thread, run in runs:
        cancel = httpx.post(f"{telemetry_stack.url}/threads/{thread}/runs/{run}/cancel?action=interrupt", timeout=10)
        assert cancel.status_code in (200, 202, 204), cancel.text
    for thread, run in runs:
        httpx.get(f"{telemetry_stack.url}/threads/{thread}/runs/{run}/join", timeout=30)
    after = _scrape(telemetry_stack)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    interrupted = {"graph_id": "sleepy", "status": "interrupted"}
    assert grew("agentplatform_runs_created_total", graph_id="sleepy") == 4
    assert grew("agentplatform_runs_finished_total", **interrupted) == 4
    assert grew("lg_api_run_execution_latency_count", **interrupted) == 4
    assert grew("lg_api_run_queue_wait_time_1st_attempt_count", **interrupted) == 4
    assert grew("agentplatform_run_retries_total", **interrupted) == 0
    assert _value(after, "lg_api_num_running_runs") == 0
    assert _samples(after, "agentplatform_worker_leases") == {}
    created = {"method": "POST", "path": "/threads/{thread_id}/runs", "status": "200"}
    assert grew("lg_api_http_requests_total", **created) == 4
    assert grew("lg_api_http_requests_latency_count", method="POST", path="/threads/{thread_id}/runs") == 4
    cancels = _samples(after, "lg_api_http_requests_total").items()
    assert sum(v for k, v in cancels if dict(k)["path"] == "/threads/{thread_id}/runs/{run_id}/cancel") >= 4


def _json_lines(stack: Stack, *names: str) -> list[dict]:
    lines = []
    for name in names:
        for line in (stack.log_dir / f"{name}.log").read_text(errors="replace").splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
    return lines


def test_a_runs_json_log_lines_carry_its_ids_and_the_request_id(telemetry_stack):
    thread = httpx.post(f"{telemetry_stack.url}/threads", json={}, timeout=10).json()["thread_id"]
    request_id = f"req-{secrets.token_hex(4)}"
    body = {"assistant_id": "echo", "input": {"value": "hi"}}
    response = httpx.post(
        f"{telemetry_stack.url}/threads/{thread}/runs/wait", json=body, headers={"x-request-id": request_id}, timeout=30
    )
    assert response.status_code == 200, response.text
    run_id = response.headers["content-location"].rsplit("/", 1)[-1]

    def run_lines():
        lines = [line for line in _json_lines(telemetry_stack, "worker", "worker2") if line.get("run_id") == run_id]
        return lines if any("ended" in line["event"] for line in lines) else None

    lines = wait_for(run_lines, timeout=10, every=0.2)
    for line in lines:
        assert line["thread_id"] == thread
        assert line["assistant_id"] == response.headers.get("x-assistant-id", line["assistant_id"])
        assert line["attempt"] == 1
        assert line["request_id"] == request_id
        assert line["graph_id"] == "echo"
        assert {"timestamp", "level", "logger", "event"} <= line.keys()


def test_one_trace_goes_from_the_request_through_the_queue_to_the_graph_node(telemetry_stack, collector):
    if trace_pb2 is None:
        pytest.skip("OpenTelemetry is not installed: pip install -r requirements-otel.txt")
    trace_id, parent_span = secrets.token_hex(16), secrets.token_hex(8)
    thread = httpx.post(f"{telemetry_stack.url}/threads", json={}, timeout=10).json()["thread_id"]
    response = httpx.post(
        f"{telemetry_stack.url}/threads/{thread}/runs/wait",
        json={"assistant_id": "echo", "input": {"value": "traced"}},
        headers={"traceparent": f"00-{trace_id}-{parent_span}-01"},
        timeout=30,
    )
    assert response.status_code == 200, response.text

    def spans_of_the_trace():
        with collector.lock:
            spans = {span.name: span for span in collector.spans if span.trace_id.hex() == trace_id}
        return spans if {"worker.stream_run", "node echo"} <= spans.keys() and len(spans) >= 3 else None

    spans = wait_for(spans_of_the_trace, timeout=15, every=0.2)
    request = spans["POST /threads/{thread_id}/runs/wait"]
    assert request.parent_span_id.hex() == parent_span  # the caller's trace, continued
    worker, node = spans["worker.stream_run"], spans["node echo"]
    assert worker.parent_span_id == request.span_id  # across the queue, in the run's row
    assert node.parent_span_id == worker.span_id
    attributes = {a.key: a.value.string_value for a in worker.attributes}
    assert attributes["langsmith.thread_id"] == thread


def test_langsmith_tracing_is_honoured_when_the_user_configures_it(telemetry_stack, collector):
    thread = httpx.post(f"{telemetry_stack.url}/threads", json={}, timeout=10).json()["thread_id"]
    body = {"assistant_id": "echo", "input": {"value": "to langsmith"}}
    response = httpx.post(f"{telemetry_stack.url}/threads/{thread}/runs/wait", json=body, timeout=30)
    assert response.status_code == 200, response.text

    def runs_sent():
        with collector.lock:
            return [request for request in collector.langsmith if request.startswith("POST /runs")]

    assert wait_for(runs_sent, timeout=15, every=0.2)
