"""The benchmark graph: one node that adds to a counter, as small as a graph gets."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict, total=False):
    value: int
    count: Annotated[int, operator.add]


def step(state: State) -> State:
    return {"count": 1, "value": state.get("value", 0) + 1}


graph = StateGraph(State).add_node("step", step).add_edge(START, "step").add_edge("step", END).compile()
