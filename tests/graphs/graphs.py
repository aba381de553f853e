"""Small graphs the tests run through the server; none needs a network or an LLM key."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.store.base import BaseStore
from langgraph.types import interrupt
from typing_extensions import TypedDict  # typing.TypedDict has no JSON schema on Python < 3.12 (pydantic refuses it)


class EchoState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    count: Annotated[int, operator.add]
    value: str


def echo_node(state: EchoState) -> EchoState:
    """One node: counts calls and echoes the last message (the benchmark graph)."""
    last = state.get("messages", [])[-1].content if state.get("messages") else state.get("value", "")
    return {"count": 1, "messages": [AIMessage(content=f"echo: {last}")]}


echo = StateGraph(EchoState).add_node("echo", echo_node).add_edge(START, "echo").add_edge("echo", END).compile()


class ApprovalState(TypedDict, total=False):
    request: str
    approved: str
    steps: Annotated[list[str], operator.add]


def ask(state: ApprovalState) -> ApprovalState:
    answer = interrupt({"question": f"approve {state.get('request', '')}?"})
    return {"approved": answer, "steps": ["ask"]}


def finish(state: ApprovalState) -> ApprovalState:
    return {"steps": ["finish"]}


interrupt_graph = (
    StateGraph(ApprovalState)
    .add_node("ask", ask)
    .add_node("finish", finish)
    .add_edge(START, "ask")
    .add_edge("ask", "finish")
    .add_edge("finish", END)
    .compile()
)


class SleepState(TypedDict, total=False):
    seconds: float
    steps: int
    done: Annotated[list[str], operator.add]


async def sleep_step(state: SleepState) -> SleepState:
    writer = get_stream_writer()
    writer({"sleeping": state.get("seconds", 0.5)})
    await asyncio.sleep(state.get("seconds", 0.5))
    return {"done": ["slept"]}


def _more(state: SleepState) -> str:
    return "sleep" if len(state.get("done", [])) < state.get("steps", 1) else END


sleepy = (
    StateGraph(SleepState)
    .add_node("sleep", sleep_step)
    .add_edge(START, "sleep")
    .add_conditional_edges("sleep", _more, ["sleep", END])
    .compile()
)


class FailState(TypedDict, total=False):
    value: str


def explode(state: FailState) -> FailState:
    raise ValueError("kaboom")


fail = StateGraph(FailState).add_node("explode", explode).add_edge(START, "explode").compile()


class ChildState(TypedDict, total=False):
    items: Annotated[list[str], operator.add]


def child_step(state: ChildState) -> ChildState:
    return {"items": ["child"]}


child = StateGraph(ChildState).add_node("child_step", child_step).add_edge(START, "child_step").compile()


def parent_step(state: ChildState) -> ChildState:
    return {"items": ["parent"]}


parent = (
    StateGraph(ChildState)
    .add_node("parent_step", parent_step)
    .add_node("child", child)
    .add_edge(START, "parent_step")
    .add_edge("parent_step", "child")
    .compile()
)


class ChatState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]


async def talk(state: ChatState) -> ChatState:
    model = GenericFakeChatModel(messages=iter([AIMessage(content="hello there friend")]))
    return {"messages": [await model.ainvoke(state.get("messages", []))]}


chat = StateGraph(ChatState).add_node("talk", talk).add_edge(START, "talk").compile()


def make_graph(config: RunnableConfig):
    """A factory: the greeting comes from the run's configurable."""
    greeting = config.get("configurable", {}).get("greeting", "hi")

    def greet(state: EchoState) -> EchoState:
        return {"value": greeting, "count": 1}

    return StateGraph(EchoState).add_node("greet", greet).add_edge(START, "greet").compile()


class LoggedState(TypedDict, total=False):
    log: str
    steps: int
    seconds: float
    counter: Annotated[int, operator.add]


async def logged_step(state: LoggedState, config: RunnableConfig) -> LoggedState:
    """Appends one line per execution to the file `log` (not idempotent, on purpose): the crash tests read it."""
    import json
    import os
    import time

    step = state.get("counter", 0)
    started = time.time()
    await asyncio.sleep(state.get("seconds", 0.1))
    line = {
        "run_id": config["configurable"].get("run_id"),
        "thread_id": config["configurable"].get("thread_id"),
        "step": step,
        "pid": os.getpid(),
        "start": started,
        "end": time.time(),
    }
    with open(state["log"], "a") as log:
        log.write(json.dumps(line) + "\n")
    return {"counter": 1}


def _more_logged(state: LoggedState) -> str:
    return "step" if state.get("counter", 0) % state.get("steps", 1) else END


logged = (
    StateGraph(LoggedState)
    .add_node("step", logged_step)
    .add_edge(START, "step")
    .add_conditional_edges("step", _more_logged, ["step", END])
    .compile()
)


class MemoryState(TypedDict, total=False):
    namespace: list[str]
    key: str
    write: dict
    found: dict | None


async def recall(state: MemoryState, *, store: BaseStore) -> MemoryState:
    """Reads (and optionally first writes) one item of the server's store, which the Store API shares."""
    namespace = tuple(state["namespace"])
    if state.get("write") is not None:
        await store.aput(namespace, state["key"], state["write"])
    item = await store.aget(namespace, state["key"])
    return {"found": item.value if item else None}


memory = StateGraph(MemoryState).add_node("recall", recall).add_edge(START, "recall").compile()


class BlockingState(TypedDict, total=False):
    seconds: float
    spin: bool
    done: bool


async def block(state: BlockingState) -> BlockingState:
    """The common mistake the worker must survive: a synchronous sleep (or, with `spin`, CPU-bound work) inside
    an async node."""
    import time

    if state.get("spin"):
        until = time.monotonic() + state.get("seconds", 1)
        while time.monotonic() < until:
            pass
    else:
        time.sleep(state.get("seconds", 1))
    return {"done": True}


def sync_block(state: BlockingState) -> BlockingState:
    """The same sleep in a sync node, which LangGraph runs in a thread: harmless to the loop."""
    import time

    time.sleep(state.get("seconds", 1))
    return {"done": True}


async def ignore_cancel(state: BlockingState) -> BlockingState:
    """Swallows cancellation for `seconds`: only a timeout enforced from outside the graph can end its run."""
    import time

    until = time.monotonic() + state.get("seconds", 1)
    while time.monotonic() < until:
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            pass
    return {"done": True}


blocking = StateGraph(BlockingState).add_node("block", block).add_edge(START, "block").compile()
sync_blocking = StateGraph(BlockingState).add_node("sync_block", sync_block).add_edge(START, "sync_block").compile()
stubborn = StateGraph(BlockingState).add_node("ignore_cancel", ignore_cancel).add_edge(START, "ignore_cancel").compile()


class StepState(TypedDict, total=False):
    log: str
    steps: int
    seconds: float
    done: int
    trail: Annotated[list[str], operator.add]


async def record_step(state: StepState, config: RunnableConfig) -> StepState:
    """The fault suite's graph (tests/reliability): one step log line and one custom event per step executed.

    The line (run, thread, step, attempt, pid, start, end) is appended to the file `log` after the step's work, so
    a step killed midway leaves none; `trail` lets the suite compare the thread's state with the replayed steps.
    Give `done: 0` in each run's input: the steps of a run are counted from there.
    """
    import json
    import os
    import time

    run_id = config["configurable"].get("run_id")
    step = state.get("done", 0)
    started = time.time()
    await asyncio.sleep(state.get("seconds", 0.1))
    line = {
        "run_id": run_id,
        "thread_id": config["configurable"].get("thread_id"),
        "step": step,
        "attempt": config["metadata"].get("run_attempt"),
        "pid": os.getpid(),
        "start": started,
        "end": time.time(),
    }
    with open(state["log"], "a") as log:
        log.write(json.dumps(line) + "\n")
    get_stream_writer()({"run_id": run_id, "step": step, "attempt": line["attempt"], "pid": line["pid"]})
    return {"done": step + 1, "trail": [f"{run_id}:{step}"]}


def _more_steps(state: StepState) -> str:
    return "step" if state.get("done", 0) < state.get("steps", 1) else END


stepped = (
    StateGraph(StepState)
    .add_node("step", record_step)
    .add_edge(START, "step")
    .add_conditional_edges("step", _more_steps, ["step", END])
    .compile()
)


class WhoamiState(TypedDict, total=False):
    user_id: str | None
    identity: str | None
    display_name: str | None
    permissions: list[str]
    tag: str


def whoami_node(state: WhoamiState, config: RunnableConfig) -> WhoamiState:
    """The caller as the graph sees it (official configurable keys; the user read both ways graphs read it)."""
    configurable = config["configurable"]
    user = configurable.get("langgraph_auth_user")
    return {
        "user_id": configurable.get("langgraph_auth_user_id"),
        "identity": user.identity if user is not None else None,
        "display_name": user["display_name"] if user is not None else None,
        "permissions": list(configurable.get("langgraph_auth_permissions") or []),
    }


whoami = StateGraph(WhoamiState).add_node("whoami", whoami_node).add_edge(START, "whoami").compile()
