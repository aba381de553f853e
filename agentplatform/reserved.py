"""Keys the server owns inside client-supplied metadata, config.configurable and context, and how the latter two
mirror each other. Shared by assistants and runs, the two resources that take a config.

The official server drops reserved keys silently instead of refusing the request
(validation.py::sanitize_reserved_keys).
"""

from __future__ import annotations

from collections.abc import Iterable

from agentplatform.errors import BadRequest

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
BOTH_CONFIGURABLE_AND_CONTEXT = (
    "Cannot specify both configurable and context. Prefer setting context alone. Context was introduced in "
    "LangGraph 0.6.0 and is the long term planned replacement for configurable."
)


def without_reserved_metadata(metadata: dict | None) -> dict:
    return {k: v for k, v in (metadata or {}).items() if k not in RESERVED_METADATA_KEYS}


def without_reserved_configurable(values: dict | None, *, also: Iterable[str] = ()) -> dict:
    """For config.configurable and context alike; `also` names keys the caller stamps itself (a run's ids)."""
    dropped = RESERVED_CONFIGURABLE_KEYS.union(also)
    return {k: v for k, v in (values or {}).items() if k not in dropped}


def config_and_context(
    config: dict | None, context: dict | None, *, also_reserved: Iterable[str] = ()
) -> tuple[dict, dict | None]:
    """config.configurable and context mirror each other (setting one sets the other), without reserved keys.

    Sending both is a client error (400), as on the official server. `context` stays None when neither is given,
    so that an update can tell "not sent" from "emptied".
    """
    config = dict(config or {})
    if config.get("configurable") and context:
        raise BadRequest(BOTH_CONFIGURABLE_AND_CONTEXT)
    if isinstance(config.get("configurable"), dict):
        config["configurable"] = without_reserved_configurable(config["configurable"], also=also_reserved)
    if context is not None:
        context = without_reserved_configurable(context, also=also_reserved)
    if config.get("configurable"):
        context = dict(config["configurable"])
    elif context:
        config["configurable"] = dict(context)
    return config, context
