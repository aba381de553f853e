"""Turn a graph's LangGraph stream into the official server's SSE events: (event name, JSON-able payload).

The executor appends every pair to the run's stream log as is; the SSE layer forwards them unchanged.
Event names follow the official server: the mode (`values`, `updates`, `messages`, `custom`, ...) and, for
subgraph events with stream_subgraphs, `<mode>|<ns1>|<ns2>`. Two modes are reshaped on the way:
`messages` becomes `messages/metadata` (once per message id) then `messages/partial` with the text accumulated
so far, and `messages-tuple` becomes the event `messages` carrying `[chunk, metadata]`. `events` runs the graph
through `astream_events(version="v2")` and forwards every event except the root graph's own stream chunks,
which are decoded like the other modes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from langchain_core.messages import BaseMessage, BaseMessageChunk, convert_to_messages, message_chunk_to_message

from threads.state import config_to_checkpoint


def _langgraph_modes(stream_modes: list[str]) -> list[str]:
    modes = []
    for mode in stream_modes:
        native = "messages" if mode in ("messages", "messages-tuple") else mode
        if native != "events" and native not in modes:
            modes.append(native)
    if "values" not in modes:
        modes.append("values")  # the executor keeps the last values for the run's result
    return modes


def _debug_task(task: dict) -> dict:
    state = task.get("state")
    if not isinstance(state, dict) or not state.get("configurable"):
        return task
    task = {key: value for key, value in task.items() if key != "state"}
    task["checkpoint"] = state["configurable"]
    return task


def _debug_chunk(chunk: dict) -> dict:
    """Debug checkpoints gain `checkpoint`/`parent_checkpoint`, and their tasks a `checkpoint`, as officially."""
    payload = chunk.get("payload")
    if chunk.get("type") != "checkpoint" or not payload:
        return chunk
    payload = {
        **payload,
        "checkpoint": config_to_checkpoint(payload.get("config")),
        "parent_checkpoint": config_to_checkpoint(payload.get("parent_config")),
        "tasks": [_debug_task(task) for task in payload.get("tasks", [])],
    }
    return {**chunk, "payload": payload}


class _MessageAccumulator:
    """Joins token chunks per message id, for the `messages` mode's accumulated `messages/partial` events."""

    def __init__(self) -> None:
        self.messages: dict[str | None, BaseMessage] = {}

    def events(self, message: Any, metadata: dict) -> list[tuple[str, Any]]:
        if isinstance(message, dict):
            message = convert_to_messages([message])[0]
        out: list[tuple[str, Any]] = []
        if message.id in self.messages:
            self.messages[message.id] = self.messages[message.id] + message
        else:
            self.messages[message.id] = message
            out.append(("messages/metadata", {message.id: {"metadata": metadata}}))
        name = "messages/partial" if isinstance(message, BaseMessageChunk) else "messages/complete"
        # Officially the accumulated chunk goes out as a plain message (`"type": "ai"`, not "AIMessageChunk").
        out.append((name, [message_chunk_to_message(self.messages[message.id])]))
        return out


class _Mapper:
    """Maps one (namespace, mode, chunk) item of the LangGraph stream to zero or more SSE events."""

    def __init__(self, stream_modes: list[str], subgraphs: bool) -> None:
        self.stream_modes = stream_modes
        self.subgraphs = subgraphs
        self.tuples = "messages-tuple" in stream_modes
        self.accumulator = _MessageAccumulator()

    def _name(self, mode: str, namespace: tuple) -> str:
        return f"{mode}|{'|'.join(namespace)}" if namespace else mode

    def map(self, namespace: tuple, mode: str, chunk: Any) -> list[tuple[str, Any]]:
        if namespace and not self.subgraphs:
            return []
        if mode == "messages":
            if self.tuples:
                return [(self._name("messages", namespace), list(chunk))]
            # The official server never namespaces messages/* events, even with stream_subgraphs.
            return self.accumulator.events(*chunk)
        if mode == "debug":
            chunk = _debug_chunk(chunk)
        return [(self._name(mode, namespace), chunk)]


async def _astream(graph: Any, graph_input: Any, config: dict, kwargs: dict) -> AsyncIterator[tuple[tuple, str, Any]]:
    async for namespace, mode, chunk in graph.astream(graph_input, config, **kwargs):
        yield namespace, mode, chunk


async def _astream_events(
    graph: Any, graph_input: Any, config: dict, kwargs: dict
) -> AsyncIterator[tuple[tuple, str, Any]]:
    """astream_events v2: the root graph's on_chain_stream chunks carry the modes; all else is an `events` event."""
    async for event in graph.astream_events(graph_input, config, version="v2", **kwargs):
        if "langsmith:hidden" in (event.get("tags") or ()):
            continue
        if event.get("event") == "on_chain_stream" and not event.get("parent_ids"):
            namespace, mode, chunk = event["data"]["chunk"]
            yield namespace, mode, chunk
        else:
            yield (), "events", event


async def stream_graph(
    graph: Any,
    graph_input: Any,
    config: dict,
    *,
    stream_modes: list[str],
    subgraphs: bool = False,
    interrupt_before: Any = None,
    interrupt_after: Any = None,
    durability: str | None = None,
    context: Any = None,
) -> AsyncIterator[tuple[str, Any]]:
    """Yield (event name, payload). `values` events are always yielded (the executor needs the last one);
    callers drop those the client did not ask for via `requested()`. `context` is the run's static context."""
    kwargs: dict[str, Any] = {"stream_mode": _langgraph_modes(stream_modes), "subgraphs": True}
    if context is not None:
        kwargs["context"] = context
    if interrupt_before is not None:
        kwargs["interrupt_before"] = interrupt_before
    if interrupt_after is not None:
        kwargs["interrupt_after"] = interrupt_after
    if durability is not None:
        kwargs["durability"] = durability
    mapper = _Mapper(stream_modes, subgraphs)
    source = _astream_events if "events" in stream_modes else _astream
    async for namespace, mode, chunk in source(graph, graph_input, config, kwargs):
        if mode == "events":
            yield "events", chunk
            continue
        for item in mapper.map(namespace, mode, chunk):
            yield item


def requested(event: str, stream_modes: list[str]) -> bool:
    """Whether an event belongs to a mode the client asked for (the official join filter's rules).

    An empty list asks for everything. `metadata` and `error` are not modes: the official server drops them too
    when a joiner filters by mode (the executor appends them without asking).
    """
    if not stream_modes or event in stream_modes:
        return True
    base = event.split("|", 1)[0]
    if base.startswith("messages"):
        return "messages" in stream_modes or "messages-tuple" in stream_modes
    return base in stream_modes
