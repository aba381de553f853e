"""Graph factories are called as the official server calls them: config, ServerRuntime, both, or nothing."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap

import pytest

from agentplatform.graph_factories import AccessContext
from agentplatform.graphs import GraphRegistry
from agentplatform.langgraph_config import ConfigError, load_config

# Each factory records what it was given in SEEN, so the tests can look at it.
GRAPHS = """
import contextlib
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph_sdk.runtime import ServerRuntime
from typing_extensions import TypedDict

SEEN = []


class State(TypedDict, total=False):
    x: int


def _graph():
    return StateGraph(State).add_node("n", lambda s: {"x": 1}).add_edge(START, "n").add_edge("n", END).compile()


def no_args():
    SEEN.append(("no_args",))
    return _graph()


def with_config(config):
    SEEN.append(("config", config, get_config()))
    return _graph()


def with_runtime(runtime: ServerRuntime):
    SEEN.append(("runtime", runtime))
    return _graph()


def runtime_then_config(rt: ServerRuntime, cfg: RunnableConfig):
    SEEN.append(("both", rt, cfg))
    return _graph()


async def async_config_then_runtime(config: RunnableConfig, runtime: ServerRuntime):
    SEEN.append(("async_both", runtime, config))
    return _graph()


@contextlib.asynccontextmanager
async def async_cm(runtime: ServerRuntime):
    SEEN.append(("enter", runtime))
    yield _graph()
    SEEN.append(("exit",))


@contextlib.contextmanager
def sync_cm(config):
    SEEN.append(("enter", config))
    yield StateGraph(State).add_node("n", lambda s: {"x": 2}).add_edge(START, "n")
    SEEN.append(("exit",))


def two_plain(a, b):
    return _graph()


def three(config, runtime: ServerRuntime, extra):
    return _graph()
"""


# The runtime's type imported for type checkers only, as the official documentation allows.
LATE = """
from __future__ import annotations

from typing import TYPE_CHECKING

from factories import SEEN, _graph

if TYPE_CHECKING:
    from langgraph_sdk.runtime import ServerRuntime


def with_late_runtime(runtime: ServerRuntime):
    SEEN.append(("late", runtime))
    return _graph()
"""


def _registry(tmp_path, **graphs: str) -> tuple[GraphRegistry, object]:
    (tmp_path / "factories.py").write_text(textwrap.dedent(GRAPHS))
    (tmp_path / "late.py").write_text(textwrap.dedent(LATE))
    (tmp_path / "langgraph.json").write_text(json.dumps({"graphs": graphs}))
    sys.modules.pop("factories", None)  # late.py imports it by name: this test's copy, not a previous one's
    registry = GraphRegistry(load_config(tmp_path / "langgraph.json")).load()
    target = registry.entry(next(iter(graphs))).target
    return registry, sys.modules[target.__module__].SEEN


def _run(registry: GraphRegistry, graph_id: str, **kwargs) -> object:
    async def build():
        async with registry.agraph(graph_id, {"configurable": {"k": "v"}}, checkpointer=None, **kwargs) as graph:
            return await graph.ainvoke({})

    return asyncio.run(build())


def test_factory_without_parameters_is_called_with_nothing(tmp_path):
    registry, seen = _registry(tmp_path, g="./factories.py:no_args")
    assert _run(registry, "g", store=None) == {"x": 1}
    assert seen == [("no_args",)]


def test_config_factory_gets_the_run_config_also_through_get_config(tmp_path):
    registry, seen = _registry(tmp_path, g="./factories.py:with_config")
    _run(registry, "g", store=None)
    (_, config, current) = seen[0]
    assert config["configurable"]["k"] == "v"
    assert config["configurable"]["__is_for_execution__"] is True
    assert current is config


def test_runtime_factory_gets_an_execution_runtime_with_user_store_and_context(tmp_path):
    registry, seen = _registry(tmp_path, g="./factories.py:with_runtime")
    store, user = object(), object()
    _run(registry, "g", store=store, user=user, context={"model": "m"})
    runtime = seen[0][1]
    assert runtime.access_context == "threads.create_run"
    assert runtime.user is user and runtime.store is store
    assert runtime.execution_runtime is runtime
    assert runtime.context == {"model": "m"}


def test_runtime_annotation_written_as_a_string_under_type_checking_is_recognised(tmp_path):
    registry, seen = _registry(tmp_path, g="late:with_late_runtime")
    _run(registry, "g", store=None)
    assert seen[0][1].access_context == "threads.create_run"


@pytest.mark.parametrize("target", ["runtime_then_config", "async_config_then_runtime"])
def test_two_parameter_factories_get_both_in_either_order(tmp_path, target):
    registry, seen = _registry(tmp_path, g=f"./factories.py:{target}")
    _run(registry, "g", store=None)
    _, runtime, config = seen[0]
    assert runtime.access_context == "threads.create_run"
    assert config["configurable"]["k"] == "v"


def test_async_context_manager_stays_open_while_the_graph_runs(tmp_path):
    registry, seen = _registry(tmp_path, g="./factories.py:async_cm")
    _run(registry, "g", store=None)
    assert [entry[0] for entry in seen] == ["enter", "exit"]


def test_reads_get_a_read_runtime_without_context(tmp_path):
    registry, seen = _registry(tmp_path, g="./factories.py:async_cm")
    config = {"configurable": {}}
    with registry.graph("g", config, checkpointer=None, store=None, access_context=AccessContext.READ) as graph:
        assert graph.get_graph().nodes
    runtime = seen[0][1]
    assert runtime.access_context == "threads.read"
    assert runtime.execution_runtime is None
    assert not hasattr(runtime, "context")


def test_sync_context_manager_of_an_uncompiled_graph_is_compiled(tmp_path):
    registry, seen = _registry(tmp_path, g="./factories.py:sync_cm")
    assert _run(registry, "g", store=None) == {"x": 2}
    assert seen[0][1]["configurable"]["__is_for_execution__"] is True
    assert seen[-1] == ("exit",)


def test_a_factory_is_called_for_every_use_and_a_compiled_graph_never_rebuilt(tmp_path):
    registry, seen = _registry(tmp_path, g="./factories.py:no_args")
    _run(registry, "g", store=None)
    _run(registry, "g", store=None)
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("target", "message"),
    [("two_plain", "annotate one of"), ("three", "0, 1 or 2 parameters")],
)
def test_factories_the_server_cannot_call_are_refused_at_load(tmp_path, target, message):
    with pytest.raises(ConfigError, match=message):
        _registry(tmp_path, g=f"./factories.py:{target}")
