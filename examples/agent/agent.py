"""An example agent that needs no LLM key: it answers arithmetic, asks a human before big numbers, and streams
its answer token by token through a fake chat model, so every feature of the server shows something real.
"""

from __future__ import annotations

import ast
import operator
from typing import Annotated, TypedDict

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AnyMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


class State(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    result: float | None


def _evaluate(expression: str) -> float:
    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        raise ValueError(f"not arithmetic: {expression!r}")

    return walk(ast.parse(expression, mode="eval").body)


def calculate(state: State) -> State:
    last = state["messages"][-1].content if state.get("messages") else ""
    try:
        result = _evaluate(str(last))
    except (ValueError, SyntaxError, ZeroDivisionError):
        return {"result": None}
    if abs(result) > 1_000_000 and interrupt({"question": f"The answer is large ({result}). Show it?"}) != "yes":
        return {"result": None}
    return {"result": result}


async def respond(state: State) -> State:
    result = state.get("result")
    text = f"The answer is {result:g}." if result is not None else "Send me arithmetic, like 6 * 7."
    model = GenericFakeChatModel(messages=iter([AIMessage(content=text)]))
    reply = await model.ainvoke(state.get("messages", []))
    return {"messages": [reply]}


builder = StateGraph(State)
builder.add_node("calculate", calculate)
builder.add_node("respond", respond)
builder.add_edge(START, "calculate")
builder.add_edge("calculate", "respond")
builder.add_edge("respond", END)
graph = builder.compile()
