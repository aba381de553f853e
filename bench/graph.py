"""The benchmark graph: one node that adds to a counter, as small as a graph gets."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages


class State(TypedDict, total=False):
    value: int
    count: Annotated[int, operator.add]


def step(state: State) -> State:
    return {"count": 1, "value": state.get("value", 0) + 1}


graph = StateGraph(State).add_node("step", step).add_edge(START, "step").add_edge("step", END).compile()


class ChatState(TypedDict, total=False):
    messages: Annotated[list, add_messages]


async def talk(state: ChatState) -> ChatState:
    """A fake chat model streaming a reply token by token (no network), for time-to-first-token."""
    model = GenericFakeChatModel(messages=iter([AIMessage(content="hello there, this is a streamed reply")]))
    return {"messages": [await model.ainvoke(state.get("messages", []))]}


chat = StateGraph(ChatState).add_node("talk", talk).add_edge(START, "talk").add_edge("talk", END).compile()
