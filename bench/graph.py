"""The benchmark graphs, loaded by both servers from bench/langgraph.json (so they import only langgraph and
langchain_core, which the official server's environment has too).

- `noop`: one node that adds to a counter, as small as a graph gets;
- `ten_nodes`: the same node ten times in a chain (cost per node vs cost per run);
- `sized`: one node that writes a `size`-byte string into the state (cost of the state: checkpoints, output);
- `sleeper`: one node that sleeps `seconds` (holds a worker slot, for memory with many runs in flight);
- `chat`: a fake chat model streaming a 51-token reply (no network), for time to first token.
"""

from __future__ import annotations

import asyncio
import operator
from itertools import pairwise
from typing import Annotated, TypedDict

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

# 26 words: the fake model streams each word and each space as a token, 51 tokens in all.
REPLY = " ".join(f"word{index}" for index in range(26))


class State(TypedDict, total=False):
    value: int
    count: Annotated[int, operator.add]
    size: int
    payload: str
    seconds: float


def step(state: State) -> State:
    return {"count": 1, "value": state.get("value", 0) + 1}


def fill(state: State) -> State:
    return {"count": 1, "payload": "x" * state.get("size", 1024)}


async def sleep(state: State) -> State:
    await asyncio.sleep(state.get("seconds", 1.0))
    return {"count": 1}


def chain(nodes: int, action=step):
    builder = StateGraph(State)
    names = [f"step{index}" for index in range(nodes)]
    for name in names:
        builder.add_node(name, action)
    builder.add_edge(START, names[0])
    for before, after in pairwise(names):
        builder.add_edge(before, after)
    builder.add_edge(names[-1], END)
    return builder.compile()


noop = chain(1)
ten_nodes = chain(10)
sized = chain(1, fill)
sleeper = chain(1, sleep)


class ChatState(TypedDict, total=False):
    messages: Annotated[list, add_messages]


async def talk(state: ChatState) -> ChatState:
    model = GenericFakeChatModel(messages=iter([AIMessage(content=REPLY)]))
    return {"messages": [await model.ainvoke(state.get("messages", []))]}


chat = StateGraph(ChatState).add_node("talk", talk).add_edge(START, "talk").add_edge("talk", END).compile()
