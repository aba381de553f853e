"""The graph registry: imports the graphs named in langgraph.json and hands out runnable copies of them.

A graph entry is either a compiled graph (or an uncompiled StateGraph, compiled at load) or a factory that
builds one per request from the run's config: a plain or async function, or a (async) context manager.
Every copy handed out is bound to the checkpointer and store of the calling process.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel

from agentplatform.langgraph_config import (
    ConfigError,
    GraphSpec,
    LangGraphConfig,
    apply_environment,
    import_target,
    load_config,
)


@dataclass(frozen=True)
class GraphEntry:
    graph_id: str
    spec: GraphSpec
    target: Any  # a compiled Pregel, or a factory callable
    factory_takes_config: bool = False

    @property
    def is_factory(self) -> bool:
        return not isinstance(self.target, Pregel)


def _factory_takes_config(factory: Any) -> bool:
    try:
        params = [
            p
            for p in inspect.signature(factory).parameters.values()
            if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return False
    return len(params) >= 1


def _load_entry(spec: GraphSpec, base_dir: Path) -> GraphEntry:
    module_path, _, attr = spec.target.rpartition(":")
    what, module_name = f"Graph '{spec.graph_id}'", f"agentplatform_graphs.{spec.graph_id}"
    target = import_target(spec.target, base_dir, what=what, module_name=module_name)
    if target is None:
        raise ConfigError(f"Graph '{spec.graph_id}': {module_path} has no attribute '{attr}'.")
    if isinstance(target, StateGraph):
        target = target.compile()
    if not isinstance(target, Pregel) and not callable(target):
        raise ConfigError(
            f"Graph '{spec.graph_id}': {spec.target} is a {type(target).__name__}; "
            "expected a compiled graph, a StateGraph or a factory function."
        )
    return GraphEntry(spec.graph_id, spec, target, _factory_takes_config(target) if callable(target) else False)


def _compiled(graph: Any, graph_id: str) -> Pregel:
    if isinstance(graph, StateGraph):
        graph = graph.compile()
    if not isinstance(graph, Pregel):
        raise TypeError(f"The factory of graph '{graph_id}' returned {type(graph).__name__}, not a graph.")
    return graph


class GraphRegistry:
    def __init__(self, config: LangGraphConfig) -> None:
        self.config = config
        self._entries: dict[str, GraphEntry] = {}
        self._bound: dict[tuple, Pregel] = {}

    def load(self) -> GraphRegistry:
        apply_environment(self.config)
        for spec in self.config.graphs.values():
            self._entries[spec.graph_id] = _load_entry(spec, self.config.base_dir)
        return self

    def graph_ids(self) -> list[str]:
        return list(self._entries)

    def has(self, graph_id: str) -> bool:
        return graph_id in self._entries

    def entry(self, graph_id: str) -> GraphEntry:
        try:
            return self._entries[graph_id]
        except KeyError:
            raise KeyError(graph_id) from None

    def _bind(self, graph: Pregel, checkpointer: Any, store: Any, cache_key: tuple | None) -> Pregel:
        if cache_key is not None and cache_key in self._bound:
            return self._bound[cache_key]
        bound = graph.copy(update={"checkpointer": checkpointer, "store": store})
        if cache_key is not None:
            self._bound[cache_key] = bound
        return bound

    def _build(self, entry: GraphEntry, config: dict) -> Any:
        return entry.target(config) if entry.factory_takes_config else entry.target()

    @asynccontextmanager
    async def agraph(self, graph_id: str, config: dict, *, checkpointer: Any, store: Any) -> AsyncIterator[Pregel]:
        entry = self.entry(graph_id)
        if not entry.is_factory:
            yield self._bind(entry.target, checkpointer, store, (graph_id, id(checkpointer), id(store)))
            return
        async with AsyncExitStack() as stack:
            made = self._build(entry, config)
            if hasattr(made, "__aenter__"):
                made = await stack.enter_async_context(made)
            elif hasattr(made, "__enter__"):
                made = stack.enter_context(made)
            elif inspect.isawaitable(made):
                made = await made
            yield self._bind(_compiled(made, graph_id), checkpointer, store, None)

    @contextmanager
    def graph(self, graph_id: str, config: dict, *, checkpointer: Any, store: Any) -> Iterator[Pregel]:
        """Synchronous variant for API reads; async factories are driven to completion on a private loop."""
        entry = self.entry(graph_id)
        if not entry.is_factory:
            yield self._bind(entry.target, checkpointer, store, (graph_id, id(checkpointer), id(store)))
            return
        with ExitStack() as stack:
            made = self._build(entry, config)
            if hasattr(made, "__enter__"):
                made = stack.enter_context(made)
            elif hasattr(made, "__aenter__") or inspect.isawaitable(made):
                made = _run_async_factory(made)
            yield self._bind(_compiled(made, graph_id), checkpointer, store, None)


def _run_async_factory(made: Any) -> Any:
    import asyncio

    async def resolve():
        if hasattr(made, "__aenter__"):
            # The context is left open only for the duration of building; sync API callers read schemas/state.
            async with made as graph:
                return graph
        return await made

    return asyncio.run(resolve()) if not _loop_running() else _run_in_thread(resolve)


def _loop_running() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _run_in_thread(coro_fn) -> Any:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coro_fn())).result()


_registry: GraphRegistry | None = None
_registry_lock = threading.Lock()


def get_registry() -> GraphRegistry:
    """The process-wide registry, loaded on first use (never at import time)."""
    global _registry
    if _registry is None:
        with _registry_lock:
            if _registry is None:
                _registry = GraphRegistry(load_config(settings.LANGGRAPH_CONFIG)).load()
    return _registry
