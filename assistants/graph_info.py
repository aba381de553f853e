"""What an assistant's graph looks like: the drawable graph, its JSON schemas and those of its subgraphs.

The graph is built as a run would build it, without a checkpointer (none of this reads state): a factory gets the
assistant's config with the request's configurable headers, and a ServerRuntime whose access context is
"assistants.read" (the user of the request, the store). Shapes follow the official server: a schema LangGraph
cannot produce is null, not an error.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from langchain_core.runnables.utils import create_model
from langgraph.pregel import Pregel
from pydantic import TypeAdapter

from access.users import AuthUser, graph_caller
from agentplatform.errors import InvalidInput
from agentplatform.graph_factories import AccessContext
from agentplatform.graphs import get_registry
from agentplatform.run_headers import request_configurable
from agentplatform.serde import to_jsonable
from assistants.models import Assistant
from assistants.selectors import assistant_graph_config
from store.backend import store_for_sync

logger = logging.getLogger(__name__)

# Keys the server fills in itself; a client never configures them.
SERVER_CONFIGURABLE_KEYS = ("__pregel_checkpointer", "__pregel_store", "checkpoint_id", "checkpoint_ns", "thread_id")
NOT_DRAWABLE = "The graph does not support visualization"


@contextmanager
def assistant_graph(
    *, assistant: Assistant, headers: Mapping[str, str] | None = None, user: AuthUser | None = None
) -> Iterator[Pregel]:
    """`headers` (lower-case names) and `user` are the request's, for a factory to see as a run of theirs shows
    them (access.users.graph_caller: an anonymous caller is None in the ServerRuntime)."""
    auth, runtime_user = graph_caller(user)
    config = assistant_graph_config(assistant=assistant)
    config["configurable"].update({**request_configurable(headers), **auth})
    registry = get_registry()
    # Only a factory is given the store (in its runtime): a compiled graph's schemas never touch it.
    store = store_for_sync() if registry.entry(assistant.graph_id).is_factory else None
    with registry.graph(
        assistant.graph_id,
        config,
        checkpointer=None,
        store=store,
        access_context=AccessContext.ASSISTANTS_READ,
        user=runtime_user,
    ) as graph:
        # Unnamed graphs take the graph id as name, so schema titles read "<graph_id>_state" as upstream.
        yield graph.copy(update={"name": assistant.graph_id}) if graph.name == "LangGraph" else graph


def parse_xray(value: str | None) -> bool | int:
    """`xray` is true/false or a positive depth."""
    if not value or value in ("false", "False"):
        return False
    if value in ("true", "True"):
        return True
    try:
        depth = int(value)
    except ValueError:
        raise InvalidInput("Invalid xray value") from None
    if depth <= 0:
        raise InvalidInput("Invalid xray value")
    return depth


def assistant_drawable_graph(*, assistant: Assistant, xray: bool | int = False, **request: Any) -> dict[str, Any]:
    """`{"nodes": [{id, type, data}], "edges": [{source, target, conditional?}]}` as LangGraph draws it.
    `request` is assistant_graph's `headers` and `user`, here and below."""
    with assistant_graph(assistant=assistant, **request) as graph:
        try:
            drawn = graph.get_graph(xray=xray).to_json()
        except NotImplementedError:
            raise InvalidInput(NOT_DRAWABLE) from None
    for node in drawn.get("nodes", []):
        if isinstance(node.get("data"), dict):
            # The Python import path of each node's runnable is internal detail, not part of the API.
            node["data"].pop("id", None)
    return to_jsonable(drawn)


def _or_none(what: str, graph: Pregel, build) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return build()
    except Exception as exc:  # noqa: BLE001 - a schema LangGraph cannot build is reported as null
        logger.warning("Failed to get %s schema for graph %s: %s", what, graph.name, exc)
        return None


def _state_schema(graph: Pregel) -> dict:
    fields: dict[str, Any] = {}
    for key in graph.stream_channels_list:
        update_type = graph.channels[key].UpdateType
        try:
            create_model(key, __root__=(update_type, None)).model_json_schema()
            fields[key] = (update_type, None)
        except Exception:  # noqa: BLE001 - a channel type pydantic cannot describe becomes "any"
            fields[key] = (Any, None)
    return create_model(graph.get_name("State"), **fields).model_json_schema()


def _config_schema(graph: Pregel) -> dict:
    """Only the `configurable` part of the (deprecated) config schema, as the official server exposes it."""
    model = graph.config_schema()
    fields = getattr(model, "model_fields", None) or {}
    if "configurable" not in fields:
        return {}
    schema = TypeAdapter(fields["configurable"].annotation).json_schema()
    for key in SERVER_CONFIGURABLE_KEYS:
        schema.get("properties", {}).pop(key, None)
    return schema


def _schemas(graph: Pregel) -> dict[str, Any]:
    return to_jsonable(
        {
            "input_schema": _or_none("input", graph, graph.get_input_jsonschema),
            "output_schema": _or_none("output", graph, graph.get_output_jsonschema),
            "state_schema": _or_none("state", graph, lambda: _state_schema(graph)),
            "config_schema": _or_none("config", graph, lambda: _config_schema(graph)),
            "context_schema": _or_none("context", graph, graph.get_context_jsonschema),
        }
    )


def assistant_schemas(*, assistant: Assistant, **request: Any) -> dict[str, Any]:
    with assistant_graph(assistant=assistant, **request) as graph:
        return {"graph_id": assistant.graph_id, **_schemas(graph)}


def assistant_subgraphs(
    *, assistant: Assistant, namespace: str | None = None, recurse: bool = False, **request: Any
) -> dict[str, dict[str, Any]]:
    """`{"<namespace>": {input_schema, ...}}` for the graph's subgraphs (only `namespace`'s when given)."""
    with assistant_graph(assistant=assistant, **request) as graph:
        try:
            return {ns: _schemas(sub) for ns, sub in graph.get_subgraphs(namespace=namespace, recurse=recurse)}
        except NotImplementedError:
            raise InvalidInput(NOT_DRAWABLE) from None
