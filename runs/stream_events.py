"""Turn a graph's LangGraph stream into the official server's SSE events: (event name, JSON-able payload).

The executor appends every pair to the run's stream log as is; the SSE layer forwards them unchanged.
Event names follow the official server: the mode (`values`, `updates`, `messages`, `custom`, ...) and, for
subgraph events with stream_subgraphs, `<mode>|<ns1>|<ns2>`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

# Stream modes a client may request on run creation (others get 422).
STREAM_MODES = ("values", "updates", "messages", "messages-tuple", "custom", "events", "debug", "tasks", "checkpoints")


def _langgraph_modes(stream_modes: list[str]) -> list[str]:
    modes = []
    for mode in stream_modes:
        native = "messages" if mode in ("messages", "messages-tuple") else mode
        if native != "events" and native not in modes:
            modes.append(native)
    if "values" not in modes:
        modes.append("values")  # the executor keeps the last values for the run's result
    return modes


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
) -> AsyncIterator[tuple[str, Any]]:
    """Yield (event name, payload). `values` events are always yielded (the executor needs the last one);
    callers drop those the client did not ask for via `requested()`."""
    kwargs: dict[str, Any] = {"stream_mode": _langgraph_modes(stream_modes), "subgraphs": True}
    if interrupt_before is not None:
        kwargs["interrupt_before"] = interrupt_before
    if interrupt_after is not None:
        kwargs["interrupt_after"] = interrupt_after
    if durability is not None:
        kwargs["durability"] = durability
    async for namespace, mode, chunk in graph.astream(graph_input, config, **kwargs):
        if namespace and not subgraphs:
            continue
        name = mode if not namespace else f"{mode}|{'|'.join(namespace)}"
        yield name, chunk


def requested(event: str, stream_modes: list[str]) -> bool:
    """Whether an event belongs to a mode the client asked for."""
    base = event.split("|", 1)[0]
    if base.startswith("messages"):
        return "messages" in stream_modes or "messages-tuple" in stream_modes
    return base in stream_modes
