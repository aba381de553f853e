"""Graphs and graph factories written the way the official documentation writes them.

Every graph answers what it saw: the run's configurable, and for a factory what it was built with.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph_sdk.runtime import ServerRuntime
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    question: str
    built_with: dict
    seen: dict


def _graph(built_with: dict[str, Any]):
    def answer(state: State, config: RunnableConfig) -> State:
        configurable = {k: v for k, v in config["configurable"].items() if not k.startswith("__")}
        return {"built_with": built_with, "seen": configurable}

    builder = StateGraph(State).add_node("answer", answer).add_edge(START, "answer").add_edge("answer", END)
    # A factory's graph is named for its access context, which the schema titles then show.
    return builder.compile(name=built_with.get("access_context", "LangGraph"))


def _runtime(runtime: ServerRuntime) -> dict[str, Any]:
    execution = runtime.execution_runtime
    return {
        "access_context": runtime.access_context,
        "user": None if runtime.user is None else runtime.user.identity,
        "has_store": runtime.store is not None,
        "context": execution.context if execution is not None else "no context outside a run",
    }


graph = _graph({"kind": "compiled", "greeting": os.environ.get("OFFICIAL_STYLE_GREETING")})


def graph_from_config(config: RunnableConfig):
    configurable = config["configurable"]
    return _graph({"kind": "config", "x-organization-id": configurable.get("x-organization-id")})


def graph_for_runtime(runtime: ServerRuntime):
    return _graph({"kind": "runtime", **_runtime(runtime)})


async def graph_from_both(config: RunnableConfig, runtime: ServerRuntime):
    return _graph({"kind": "both", "x-user-id": config["configurable"].get("x-user-id"), **_runtime(runtime)})


@contextlib.asynccontextmanager
async def generate_agent(config: RunnableConfig):
    organization_id = config["configurable"].get("x-organization-id")
    yield _graph({"kind": "context manager", "x-organization-id": organization_id})


def graph_per_caller(config: RunnableConfig, runtime: ServerRuntime):
    """A graph built for whoever asks: its one node is named for the caller and their x-user-id header, so a read
    of a thread's state only makes sense with the graph its run was built with."""
    user = runtime.user.identity if runtime.user is not None else "nobody"
    node = f"answer_{user}_{config['configurable'].get('x-user-id')}"

    def answer(state: State) -> State:
        return {"built_with": {"kind": "per caller", "node": node}}

    return StateGraph(State).add_node(node, answer).add_edge(START, node).add_edge(node, END).compile()
