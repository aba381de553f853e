"""The graph registry: imports the graphs named in langgraph.json and hands out runnable copies of them.

A graph entry is either a compiled graph (or an uncompiled StateGraph, compiled at load), loaded once, or a factory
that builds one each time a graph is needed, as the official server calls it (agentplatform.graph_factories): with
no argument, the run's config, a `langgraph_sdk.runtime.ServerRuntime`, or both; plain or async, or returning a
(async) context manager. Every copy handed out is bound to the checkpointer and store of the calling process.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel

from agentplatform.graph_factories import (
    AccessContext,
    FactoryArguments,
    classify_factory,
    factory_config,
    resolve_async,
    resolve_sync,
    server_runtime,
)
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
    arguments: FactoryArguments | None = None  # how a factory is called; None for a compiled graph

    @property
    def is_factory(self) -> bool:
        return not isinstance(self.target, Pregel)


def _load_entry(spec: GraphSpec, base_dir: Path) -> GraphEntry:
    module_path, _, attr = spec.target.rpartition(":")
    what, module_name = f"Graph '{spec.graph_id}'", f"agentplatform_graphs.{spec.graph_id}"
    target = import_target(spec.target, base_dir, what=what, module_name=module_name)
    if target is None:
        raise ConfigError(f"Graph '{spec.graph_id}': {module_path} has no attribute '{attr}'.")
    if isinstance(target, StateGraph):
        target = target.compile()
    if isinstance(target, Pregel):
        return GraphEntry(spec.graph_id, spec, target)
    if not callable(target):
        raise ConfigError(
            f"Graph '{spec.graph_id}': {spec.target} is a {type(target).__name__}; "
            "expected a compiled graph, a StateGraph or a factory function."
        )
    return GraphEntry(spec.graph_id, spec, target, classify_factory(target, what=what))


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

    def _factory_call(
        self, entry: GraphEntry, config: dict, access_context: AccessContext, *, checkpointer: Any, **runtime: Any
    ) -> tuple[dict, functools.partial]:
        """The config a factory is given and the call that builds its (unresolved) graph."""
        made_config = factory_config(config, access_context=access_context, checkpointer=checkpointer)
        arguments = entry.arguments(made_config, server_runtime(access_context, **runtime))
        return made_config, functools.partial(entry.target, **arguments)

    @asynccontextmanager
    async def agraph(
        self,
        graph_id: str,
        config: dict,
        *,
        checkpointer: Any,
        store: Any,
        access_context: AccessContext = AccessContext.CREATE_RUN,
        user: Any = None,
        context: Any = None,
    ) -> AsyncIterator[Pregel]:
        """The graph for one use: `access_context` says which (official values); a factory gets `user`, the
        store and, when executing a run, its `context` in its ServerRuntime."""
        entry = self.entry(graph_id)
        if not entry.is_factory:
            yield self._bind(entry.target, checkpointer, store, (graph_id, id(checkpointer), id(store)))
            return
        made_config, call = self._factory_call(
            entry, config, access_context, checkpointer=checkpointer, store=store, user=user, context=context
        )
        async with AsyncExitStack() as stack:
            made = await resolve_async(call, made_config, stack)
            yield self._bind(_compiled(made, graph_id), checkpointer, store, None)

    @contextmanager
    def graph(
        self,
        graph_id: str,
        config: dict,
        *,
        checkpointer: Any,
        store: Any,
        access_context: AccessContext = AccessContext.ASSISTANTS_READ,
        user: Any = None,
    ) -> Iterator[Pregel]:
        """Synchronous variant for API reads; async factories are driven to completion on a private loop."""
        entry = self.entry(graph_id)
        if not entry.is_factory:
            yield self._bind(entry.target, checkpointer, store, (graph_id, id(checkpointer), id(store)))
            return
        made_config, call = self._factory_call(
            entry, config, access_context, checkpointer=checkpointer, store=store, user=user, context=None
        )
        with ExitStack() as stack:
            made = resolve_sync(call, made_config, stack)
            yield self._bind(_compiled(made, graph_id), checkpointer, store, None)


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
