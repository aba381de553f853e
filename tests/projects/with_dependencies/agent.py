"""A graph that imports one module from each kind of local dependency."""

import agentplatform_test_helpers
import flat_pkg
import my_pkg
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    found: list[str]


def report(state: State) -> State:
    return {"found": [agentplatform_test_helpers.GREETING, my_pkg.NAME, flat_pkg.NAME]}


graph = StateGraph(State).add_node("report", report).add_edge(START, "report").add_edge("report", END).compile()
