"""OpenTelemetry traces: one trace from the API request that creates a run, through the queue, to the worker's
execution of it and each graph node, as the official server enables them.

On with OTEL_ENABLED=true, or by itself when an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
OTEL_EXPORTER_OTLP_ENDPOINT); every other OTEL_* variable (service name, headers, sampler, batch delays) is read by
the OpenTelemetry SDK itself. Spans are sent over OTLP/HTTP unless the process already has a tracer provider (e.g.
started by `opentelemetry-instrument`). The packages are optional (requirements-otel.txt): without them, or with
tracing off, every function here does nothing and costs a flag check.

The trace crosses the queue in the run's row, as officially: the API request's span context goes into the run's
`config.configurable` (`__otel_traceparent__`, `__otel_tracestate__`), and the worker's span continues it.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

logger = logging.getLogger(__name__)

TRACEPARENT_KEY = "__otel_traceparent__"
TRACESTATE_KEY = "__otel_tracestate__"
TRACER_NAME = "agentplatform"
_TRUE = {"1", "true", "yes", "on"}
_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


@functools.cache
def enabled() -> bool:
    """Whether this process traces (read once: the environment of a process does not change)."""
    flag = os.environ.get("OTEL_ENABLED")
    if flag is not None and flag.strip() != "":
        wanted = flag.strip().lower() in _TRUE
    else:
        wanted = any(os.environ.get(name) for name in _ENDPOINT_VARIABLES)
    if not wanted:
        return False
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        logger.warning("OTEL_ENABLED, but OpenTelemetry is not installed: pip install -r requirements-otel.txt")
        return False
    return True


def setup(kind: str) -> None:
    """Send this process's spans over OTLP/HTTP (`kind`: api or worker names the service when OTEL_SERVICE_NAME
    does not). Called once at process start (agentplatform.startup)."""
    if not enabled():
        return
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return  # the operator's own provider (opentelemetry-instrument, a custom app) is kept
    attributes = {"agentplatform.process": kind}
    if not os.environ.get("OTEL_SERVICE_NAME"):
        attributes["service.name"] = f"agentplatform-{kind}"
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def _tracer():
    from opentelemetry import trace

    return trace.get_tracer(TRACER_NAME)


def _propagator():
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator()


@contextmanager
def server_span(method: str, headers: Mapping[str, str]) -> Iterator[Any]:
    """The span of one API request, continuing the caller's trace (`traceparent` header) if it sent one."""
    if not enabled():
        yield None
        return
    from opentelemetry.trace import SpanKind

    context = _propagator().extract(headers)
    with _tracer().start_as_current_span(method, context=context, kind=SpanKind.SERVER) as span:
        yield span


def server_span_finish(span: Any, *, method: str, route: str, status: int) -> None:
    """Name the request's span after its route (known once the URL was resolved), as officially."""
    if span is None:
        return
    span.update_name(f"{method} {route}")
    span.set_attribute("http.route", route)
    span.set_attribute("http.request.method", method)
    span.set_attribute("http.response.status_code", status)


def inject(configurable: MutableMapping[str, Any]) -> None:
    """Store the current span's context where the worker finds it (a run's configurable)."""
    if not enabled():
        return
    from opentelemetry import trace

    if not trace.get_current_span().is_recording():
        return
    carrier: dict[str, str] = {}
    _propagator().inject(carrier)
    if "traceparent" in carrier:
        configurable[TRACEPARENT_KEY] = carrier["traceparent"]
    if "tracestate" in carrier:
        configurable[TRACESTATE_KEY] = carrier["tracestate"]


@contextmanager
def run_span(configurable: Mapping[str, Any], attributes: Mapping[str, Any]) -> Iterator[None]:
    """The worker's span for one attempt of a run, a child of the request that created it, with one child span
    per graph node (through LangChain's callbacks). Enter it inside the attempt's asyncio task."""
    if not enabled():
        yield
        return
    from opentelemetry.trace import SpanKind

    carrier = {"traceparent": configurable.get(TRACEPARENT_KEY) or ""}
    if configurable.get(TRACESTATE_KEY):
        carrier["tracestate"] = configurable[TRACESTATE_KEY]
    context = _propagator().extract(carrier) if carrier["traceparent"] else None
    attrs = {k: v for k, v in attributes.items() if v is not None}
    with _tracer().start_as_current_span(
        "worker.stream_run", context=context, kind=SpanKind.CONSUMER, attributes=attrs
    ):
        token = _node_spans.set(_node_span_handler())
        try:
            yield
        finally:
            _node_spans.reset(token)


# LangChain adds the handler this holds to the callbacks of every runnable started in its context (the graph and
# its nodes), as it does for LangSmith's tracer.
_node_spans: ContextVar[Any] = ContextVar("agentplatform_node_spans", default=None)


@functools.cache
def _register_node_spans() -> type:
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.tracers.context import register_configure_hook

    class NodeSpans(BaseCallbackHandler):
        """A span for each graph node, under the nearest enclosing node's span or the run's."""

        run_inline = True  # called in the node's own context, so the run's span is the current one

        def __init__(self, parent: Any) -> None:
            self.parent = parent
            self.spans: dict[UUID, Any] = {}
            self.parents: dict[UUID, UUID | None] = {}

        def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
            self.parents[run_id] = kwargs.get("parent_run_id")
            node = (kwargs.get("metadata") or {}).get("langgraph_node")
            if node is None or kwargs.get("name") != node:
                return  # the graph itself, or a runnable inside a node (writers, branches)
            from opentelemetry import trace

            parent_span = self._enclosing_span(run_id)
            context = trace.set_span_in_context(parent_span) if parent_span is not None else None
            step = (kwargs.get("metadata") or {}).get("langgraph_step")
            attributes = {"langgraph.node": node, **({"langgraph.step": step} if step is not None else {})}
            self.spans[run_id] = _tracer().start_span(f"node {node}", context=context, attributes=attributes)

        def _enclosing_span(self, run_id: UUID) -> Any:
            ancestor = self.parents.get(run_id)
            while ancestor is not None:
                if ancestor in self.spans:
                    return self.spans[ancestor]
                ancestor = self.parents.get(ancestor)
            return self.parent

        def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
            self._end(run_id, None)

        def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
            self._end(run_id, error)

        def _end(self, run_id: UUID, error: BaseException | None) -> None:
            self.parents.pop(run_id, None)
            span = self.spans.pop(run_id, None)
            if span is None:
                return
            if error is not None:
                from opentelemetry.trace import Status, StatusCode

                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end()

    register_configure_hook(_node_spans, inheritable=True)
    return NodeSpans


def _node_span_handler() -> Any:
    from opentelemetry import trace

    return _register_node_spans()(trace.get_current_span())
