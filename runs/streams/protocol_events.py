"""The events of a thread-centric (protocol v2) run, as the worker appends them to the run's stream log.

A run started through `POST /threads/{id}/commands` carries the official marker PROTOCOL_RUN_KEY in its
configurable. The executor then drives the graph through LangGraph's own protocol stream
(`astream_events(version="v3")`, the same call the official server makes) instead of `astream`, and appends each
protocol event it yields, already in its wire shape, as one log entry:

    event = "@" + method [+ "|" + namespace segment]...      e.g. "@values", "@messages|child:<task id>"
    data  = {"namespace": [...], "timestamp": <ms>, "data": ...[, "node": ...]}   (the wire event's params)

One log entry is one wire event, so a reader numbers events by their entry ids (runs.streams.thread_events) and
needs no state to resume anywhere. Reshaping follows the official session: `values` lose `__interrupt__`, and each
new interrupt becomes an `input.requested` event followed by the root `lifecycle` `interrupted`; messages keep only
their content-block payload; subgraph lifecycle events move to the subgraph's namespace; `custom:<name>` becomes
`custom` with `{"name", "payload"}`. The root `running` lifecycle event opens every attempt; the root ending comes
from the run's done entry.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from agentplatform import serde
from runs.streams.protocol_messages import state_payload
from threads.state import interrupt_to_dict

PROTOCOL_RUN_KEY = "__event_streaming_v2"
ENTRY_PREFIX = "@"
_NO_STATE: Any = object()


def is_protocol_run(kwargs: dict) -> bool:
    configurable = (kwargs.get("config") or {}).get("configurable") or {}
    return bool(configurable.get(PROTOCOL_RUN_KEY))


def entry_name(method: str, namespace: list[str]) -> str:
    return ENTRY_PREFIX + "|".join([method, *namespace])


def parse_entry_name(name: str) -> tuple[str, list[str]] | None:
    """(method, namespace) of a protocol entry, None for any other entry of a log."""
    if not name.startswith(ENTRY_PREFIX):
        return None
    method, *namespace = name[1:].split("|")
    return method, namespace


@dataclass
class ProtocolEntry:
    """One log entry; `state` is the root state of a `values` event (with its interrupts), for the executor."""

    name: str
    params: dict[str, Any]
    state: Any = _NO_STATE

    @property
    def has_state(self) -> bool:
        return self.state is not _NO_STATE


def _now_ms() -> int:
    return int(time.time() * 1000)


def _entry(method: str, namespace: list[str], data: Any, *, timestamp: int | None = None, **extra: Any):
    params = {"namespace": namespace, "timestamp": timestamp or _now_ms(), "data": data, **extra}
    return ProtocolEntry(entry_name(method, namespace), params)


def lifecycle_entry(event: str, graph_name: str, namespace: list[str] | None = None, **data: Any) -> ProtocolEntry:
    return _entry("lifecycle", list(namespace or []), {"event": event, "graph_name": graph_name, **data})


def _graph_name(namespace: list[str]) -> str:
    return namespace[-1].split(":")[0] if namespace else "root"


@dataclass
class _Shaper:
    """Turns LangGraph's protocol events into log entries; remembers what one attempt announced already."""

    graph_name: str
    interrupts: set[str] = field(default_factory=set)
    started: dict[str, str] = field(default_factory=dict)  # namespace key -> graph name
    seen_checkpoints: set[tuple[str, str]] = field(default_factory=set)

    def shape(self, event: dict[str, Any]) -> list[ProtocolEntry]:
        method = event.get("method")
        params = event.get("params") or {}
        if not isinstance(method, str) or not isinstance(params, dict):
            return []
        namespace = [str(part) for part in params.get("namespace") or []]
        timestamp = params.get("timestamp") if isinstance(params.get("timestamp"), int) else None
        handler = _HANDLERS.get(method)
        if handler is not None:
            return handler(self, namespace, params, timestamp)
        if method == "debug":
            return []
        if method.startswith("custom:"):
            data = {"name": method.removeprefix("custom:"), "payload": params.get("data")}
            return [_entry(method, namespace, data, timestamp=timestamp)]
        return [_entry(method, namespace, params.get("data"), timestamp=timestamp)]

    def values(self, namespace: list[str], params: dict, timestamp: int | None) -> list[ProtocolEntry]:
        raw = params.get("data")
        interrupts = list(params.get("interrupts") or [])
        if isinstance(raw, dict) and raw.get("__interrupt__"):
            interrupts += list(raw["__interrupt__"])
        out = self._input_requested(namespace, interrupts)
        data = state_payload(serde.to_jsonable(raw))
        # An empty state is not sent (as officially); the executor still sees the root state, on an unnamed entry.
        values = _entry("values", namespace, data, timestamp=timestamp) if data != {} else ProtocolEntry("", {})
        if not namespace:
            values.state = {**raw, "__interrupt__": interrupts} if interrupts and isinstance(raw, dict) else raw
        if values.name or values.has_state:
            out.append(values)
        return out

    def _input_requested(self, namespace: list[str], interrupts: list) -> list[ProtocolEntry]:
        out = []
        for interrupt in serde.to_jsonable([interrupt_to_dict(i) for i in interrupts]):
            interrupt_id = interrupt.get("id")
            if not isinstance(interrupt_id, str) or interrupt_id in self.interrupts:
                continue
            self.interrupts.add(interrupt_id)
            data = {"interrupt_id": interrupt_id, "payload": interrupt.get("value")}
            out.append(_entry("input.requested", namespace, data))
        if out:
            # The run now waits for input.respond: say so at once, as the official server does.
            out.append(lifecycle_entry("interrupted", self.graph_name))
        return out

    def updates(self, namespace: list[str], params: dict, timestamp: int | None) -> list[ProtocolEntry]:
        data = serde.to_jsonable(params.get("data"))
        node = params.get("node")
        if not isinstance(node, str) and isinstance(data, dict) and len(data) == 1:
            node = next(iter(data))
        if node == "__interrupt__":
            return self._input_requested(namespace, list((data or {}).get("__interrupt__") or []))
        extra = {"node": node} if isinstance(node, str) else {}
        return [_entry("updates", namespace, state_payload(data), timestamp=timestamp, **extra)]

    def messages(self, namespace: list[str], params: dict, timestamp: int | None) -> list[ProtocolEntry]:
        data = params.get("data")
        if isinstance(data, (tuple, list)) and len(data) == 2:
            data = data[0]
        # Only content-block events (message-start, content-block-*, message-finish) belong to the protocol.
        if not isinstance(data, dict) or not isinstance(data.get("event"), str):
            return []
        return [_entry("messages", namespace, serde.to_jsonable(data), timestamp=timestamp)]

    def lifecycle(self, namespace: list[str], params: dict, timestamp: int | None) -> list[ProtocolEntry]:
        data = params.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("event"), str):
            return []
        inner = data.get("namespace")
        if isinstance(inner, list) and len(inner) > len(namespace):
            namespace = [str(part) for part in inner]
        if not namespace:
            return []  # the root's lifecycle is the run's: its start and its done entry say it
        key = "|".join(namespace)
        if data["event"] == "started":
            if key in self.started:
                return []
            self.started[key] = data.get("graph_name") or _graph_name(namespace)
            return [_entry("lifecycle", namespace, serde.to_jsonable(data), timestamp=timestamp)]
        graph = data.get("graph_name") or self.started.get(key) or _graph_name(namespace)
        extra = {name: data[name] for name in ("error", "cause") if data.get(name) is not None}
        return [lifecycle_entry(data["event"], graph, namespace, **serde.to_jsonable(extra))]

    def tools(self, namespace: list[str], params: dict, timestamp: int | None) -> list[ProtocolEntry]:
        data = serde.to_jsonable(params.get("data"))
        node = data.pop("__node", None) if isinstance(data, dict) else None
        extra = {"node": node} if isinstance(node, str) else {}
        return [_entry("tools", namespace, data, timestamp=timestamp, **extra)]

    def checkpoints(self, namespace: list[str], params: dict, timestamp: int | None) -> list[ProtocolEntry]:
        data = serde.to_jsonable(params.get("data"))
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            return []
        key = ("|".join(namespace), data["id"])
        if key in self.seen_checkpoints:
            return []
        self.seen_checkpoints.add(key)
        return [_entry("checkpoints", namespace, data, timestamp=timestamp)]


_HANDLERS = {
    "values": _Shaper.values,
    "updates": _Shaper.updates,
    "messages": _Shaper.messages,
    "lifecycle": _Shaper.lifecycle,
    "tools": _Shaper.tools,
    "checkpoints": _Shaper.checkpoints,
}


async def protocol_stream(
    graph: Any, graph_input: Any, config: dict, *, graph_name: str, **kwargs: Any
) -> AsyncIterator[ProtocolEntry]:
    """The log entries of one attempt: the root `running` event, then the graph's protocol events reshaped.

    `kwargs` are LangGraph's (interrupt_before/after, durability, context); None values are left out.
    """
    yield lifecycle_entry("running", graph_name)
    shaper = _Shaper(graph_name)
    options = {name: value for name, value in kwargs.items() if value is not None}
    run_stream = await graph.astream_events(graph_input, config, version="v3", **options)
    async with run_stream:
        async for event in run_stream:
            for entry in shaper.shape(event):
                yield entry
