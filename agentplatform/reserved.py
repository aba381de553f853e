"""Keys the server owns inside client-supplied metadata, config.configurable and context.

The official server drops them silently instead of refusing the request (validation.py::sanitize_reserved_keys).
"""

from __future__ import annotations

RESERVED_METADATA_KEYS = frozenset({"thread_id", "assistant_id", "run_id", "cron_id"})
RESERVED_CONFIGURABLE_KEYS = frozenset(
    {
        "langgraph_auth_user",
        "langgraph_auth_user_id",
        "langgraph_auth_permissions",
        "langgraph_request_id",
        "__langsmith_project__",
        "__langsmith_example_id__",
        "__request_start_time_ms__",
        "__after_seconds__",
        "__otel_traceparent__",
        "__otel_tracestate__",
        "__dd_trace_headers__",
        "__pregel_node_finished",
        "__context_provided__",
    }
)


def without_reserved_metadata(metadata: dict | None) -> dict:
    return {k: v for k, v in (metadata or {}).items() if k not in RESERVED_METADATA_KEYS}


def without_reserved_configurable(values: dict | None) -> dict:
    """For config.configurable and context alike."""
    return {k: v for k, v in (values or {}).items() if k not in RESERVED_CONFIGURABLE_KEYS}
