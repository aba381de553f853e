"""Graph factories, called the way the official server calls them.

A factory in langgraph.json takes no argument, the config (RunnableConfig), a `ServerRuntime`
(`langgraph_sdk.runtime`: the user, the store, why the graph is wanted and, for a run, its context), or both in
either order; which parameter is the runtime is told by its annotation. It returns a graph, a coroutine of one, or
a (async) context manager yielding one, which stays open while the graph is in use.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import typing
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, ExitStack, contextmanager
from enum import StrEnum
from typing import Any, get_args, get_origin

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import ensure_config, var_child_runnable_config
from langgraph.constants import CONFIG_KEY_CHECKPOINTER
from langgraph_sdk.runtime import ServerRuntime, _ExecutionRuntime, _ReadRuntime

from agentplatform.langgraph_config import ConfigError

# How to call one factory: (the config it is given, its runtime) -> its keyword arguments.
FactoryArguments = Callable[[dict, Any], dict]
_RUNTIME_TYPES = (_ExecutionRuntime, _ReadRuntime)
# Annotations written as strings (or under TYPE_CHECKING) still resolve to the runtime or the config.
_ANNOTATION_NAMES = {"ServerRuntime": ServerRuntime, "RunnableConfig": RunnableConfig, "Config": RunnableConfig}


class AccessContext(StrEnum):
    """Why a graph is wanted (`ServerRuntime.access_context`); only CREATE_RUN executes it."""

    CREATE_RUN = "threads.create_run"
    UPDATE = "threads.update"
    READ = "threads.read"
    ASSISTANTS_READ = "assistants.read"


def _is_runtime(annotation: Any) -> bool:
    if annotation is ServerRuntime:
        return True
    if isinstance(annotation, type):
        return issubclass(annotation, _RUNTIME_TYPES)
    origin = get_origin(annotation)
    if origin is ServerRuntime:
        return True
    args = get_args(annotation) if origin is not None else ()
    return bool(args) and _is_runtime(args[0])  # Annotated[ServerRuntime, ...]


def _annotations(factory: Callable) -> dict[str, Any]:
    try:
        return typing.get_type_hints(factory, localns=_ANNOTATION_NAMES)
    except Exception:  # noqa: BLE001 - an unresolvable hint counts as no hint, as officially
        return {}


def classify_factory(factory: Callable, *, what: str) -> FactoryArguments:
    """How `factory` is called, from its parameters; a signature the server cannot call is a ConfigError."""
    params = list(inspect.signature(factory).parameters.values())
    hints = _annotations(factory)
    runtime = [p.name for p in params if _is_runtime(hints.get(p.name, p.annotation))]
    if not params:
        return lambda config, server_runtime: {}
    if len(params) == 1:
        name = params[0].name
        return (lambda config, rt: {name: rt}) if runtime else (lambda config, rt: {name: config})
    if len(params) == 2 and len(runtime) == 1:
        config_name = next(p.name for p in params if p.name != runtime[0])
        return lambda config, rt: {runtime[0]: rt, config_name: config}
    if len(params) == 2:
        raise ConfigError(
            f"{what}: a factory of two parameters takes the config and a ServerRuntime; annotate one of "
            f"{[p.name for p in params]} as langgraph_sdk.runtime.ServerRuntime."
        )
    raise ConfigError(f"{what}: a graph factory takes 0, 1 or 2 parameters, not {[p.name for p in params]}.")


def server_runtime(access_context: AccessContext, *, user: Any, store: Any, context: Any = None) -> Any:
    """The ServerRuntime a factory gets: the execution variant (with the run's context) only to run."""
    if access_context is AccessContext.CREATE_RUN:
        # A copy, so that a factory changing it does not change what the run is given.
        return _ExecutionRuntime(
            access_context=access_context.value,
            user=user,
            store=store,
            context=copy.copy(context) if context is not None else None,
        )
    return _ReadRuntime(access_context=access_context.value, user=user, store=store)


def factory_config(config: dict, *, access_context: AccessContext, checkpointer: Any) -> dict:
    """A copy of `config` with every RunnableConfig key, the checkpointer and `__is_for_execution__` in it."""
    made = dict(ensure_config(config))
    configurable = dict(made["configurable"])
    if checkpointer is not None:
        configurable.setdefault(CONFIG_KEY_CHECKPOINTER, checkpointer)
    configurable["__is_for_execution__"] = access_context is AccessContext.CREATE_RUN
    made["configurable"] = configurable
    return made


@contextmanager
def _current_config(config: dict):
    """`langgraph.config.get_config()` inside the factory answers its config, as officially."""
    token = var_child_runnable_config.set(config)
    try:
        yield
    finally:
        var_child_runnable_config.reset(token)


async def resolve_async(call: Callable[[], Any], config: dict, stack: AsyncExitStack) -> Any:
    """Call the factory and resolve what it returned to a graph; its context manager is left open on `stack`."""
    with _current_config(config):
        made = call()
        if hasattr(made, "__aenter__") and hasattr(made, "__aexit__"):
            return await stack.enter_async_context(made)
        if hasattr(made, "__enter__") and hasattr(made, "__exit__"):
            return stack.enter_context(made)
        return await made if inspect.isawaitable(made) else made


def resolve_sync(call: Callable[[], Any], config: dict, stack: ExitStack) -> Any:
    """resolve_async for synchronous callers: an async factory is built on a private event loop, and its async
    context manager is closed once the graph is built (synchronous reads only look at its structure)."""
    with _current_config(config):
        made = call()
        if hasattr(made, "__enter__") and hasattr(made, "__exit__") and not hasattr(made, "__aenter__"):
            return stack.enter_context(made)
    if not (hasattr(made, "__aenter__") or inspect.isawaitable(made)):
        return made

    async def resolve() -> Any:
        async with AsyncExitStack() as private:
            return await resolve_async(lambda: made, config, private)

    return _run_coroutine(resolve)


def _run_coroutine(coroutine_fn: Callable[[], Any]) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine_fn())
    with ThreadPoolExecutor(max_workers=1) as pool:  # called from a running loop: a loop of its own, elsewhere
        return pool.submit(lambda: asyncio.run(coroutine_fn())).result()
