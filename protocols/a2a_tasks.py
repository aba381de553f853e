"""A2A tasks over threads and runs: a context is a thread, a task a run on it (named `<thread_id>:<run_id>`; a
task waiting at an interrupt goes on with the run that resumes it, whose metadata.a2a names the task). The work of
message/send, message/stream, tasks/get and tasks/cancel, through the other apps' services and selectors and the
run engine (protocols.runs); protocols.a2a reads the JSON-RPC calls and answers them.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from access.users import AuthUser
from agentplatform.db_threads import in_worker_thread
from agentplatform.errors import ApplicationError, NotFound
from agentplatform.ids import uuid7
from assistants.graph_info import assistant_schemas
from assistants.selectors import assistant_get
from protocols import a2a_format as fmt
from protocols import jsonrpc
from protocols.runs import run_events, run_result, run_start
from runs.selectors import run_get, run_list
from runs.services import run_cancel
from threads.selectors import thread_get, thread_history_list
from threads.services import thread_state_update

TASK_NOT_FOUND = -32001
TASK_NOT_CANCELABLE = -32002
UNSUPPORTED_OPERATION = -32004
CONTENT_TYPE_NOT_SUPPORTED = -32005
INVALID_AGENT_RESPONSE = -32006

HISTORY_SCOPE_HEADER = "LangGraph-A2A-History-Scope"
MAX_HISTORY_LENGTH = 10
RUN_SCAN_LIMIT = 1000


@dataclasses.dataclass(frozen=True)
class CallContext:
    assistant_id: str
    user: AuthUser | None
    headers: Mapping[str, str]
    history_scope_header: str | None = None
    base_url: str = ""


def params_error(message: str) -> jsonrpc.Outcome:
    return jsonrpc.error(jsonrpc.INVALID_PARAMS, message)


# --- reads and writes, on a worker thread ---------------------------------------------------------------------------


def assistant_by_id(assistant_id: str, user: AuthUser | None) -> Any:
    """The assistant, or ValueError with the official message."""
    try:
        return assistant_get(assistant_id=assistant_id, user=user)
    except NotFound:
        raise ValueError(f"Assistant '{assistant_id}' not found") from None
    except ApplicationError as exc:
        raise ValueError(f"Failed to get assistant '{assistant_id}': {exc.detail}") from None


def input_properties(assistant: Any, user: AuthUser | None, headers: Mapping[str, str]) -> tuple[dict, list]:
    try:
        schemas = assistant_schemas(assistant=assistant, headers=headers, user=user)
    except ApplicationError as exc:
        raise ValueError(f"Failed to get schemas for assistant '{assistant.assistant_id}': {exc.detail}") from None
    schema = schemas.get("input_schema") or schemas.get("state_schema") or {}
    return schema.get("properties", {}), schema.get("required", [])


@in_worker_thread
def _checked_assistant(assistant_id: str, parts: list, user: AuthUser | None, headers: Mapping[str, str]) -> Any:
    """The assistant, once it is known to take `messages` if the parts need them (ValueError otherwise)."""
    assistant = assistant_by_id(assistant_id, user)
    if fmt.has_message_parts(parts):
        properties, _ = input_properties(assistant, user, headers)
        if not properties:
            raise ValueError(
                f"Assistant '{assistant_id}' has no input schema defined. A2A conversational agents using text or "
                "file parts must have an input schema with a 'messages' field."
            )
        if "messages" not in properties:
            raise ValueError(
                f"Assistant '{assistant_id}' (graph '{assistant.graph_id}') does not support A2A conversational "
                "messages. Graph input schema must include a 'messages' field to accept text or file parts. "
                f"Available input fields: {list(properties)}"
            )
    return assistant


def _a2a_metadata(run: Any) -> dict:
    found = (run.metadata or {}).get("a2a")
    return found if isinstance(found, dict) else {}


def _task_id_of(run: Any, context_id: str) -> str:
    stored = _a2a_metadata(run).get("task_id")
    return stored if isinstance(stored, str) and stored else fmt.make_task_id(context_id, str(run.run_id))


def _task_ids_by_start_id(runs: list, context_id: str, assistant_id: str) -> dict[str, str]:
    found = {}
    for run in runs:
        start_id = _a2a_metadata(run).get("task_start_id")
        if str(run.assistant_id) == assistant_id and isinstance(start_id, str) and start_id:
            found[start_id] = _task_id_of(run, context_id)
    return found


@dataclasses.dataclass(frozen=True)
class Task:
    task_id: str
    context_id: str
    run: Any  # the task's latest run
    state: str
    timestamp: str
    task_ids_by_start_id: dict[str, str]


def _context_runs(context_id: str, user: AuthUser | None) -> list:
    return run_list(thread_id=context_id, limit=RUN_SCAN_LIMIT, user=user)  # newest first


def _latest_task_run(runs: list, anchor: Any, task_id: str, assistant_id: str) -> tuple[Any, bool]:
    """The newest run of the task (the anchor, or a run that resumed it) and whether it is the context's newest."""
    for run in runs:
        if str(run.assistant_id) != assistant_id:
            continue
        if run.run_id == anchor.run_id or _a2a_metadata(run).get("task_id") == task_id:
            return run, run.run_id == runs[0].run_id
    return anchor, False


@in_worker_thread
def _task(task_id: str, context_id: str | None, assistant_id: str, user: AuthUser | None) -> Task | None:
    """The task as `user` may see it, or None (unknown, another assistant's, another context's)."""
    parsed_context, anchor_id = fmt.parse_task_id(task_id)
    if parsed_context and context_id and parsed_context != context_id:
        return None
    context_id = context_id or parsed_context
    if not context_id:
        return None
    try:
        anchor = run_get(thread_id=context_id, run_id=anchor_id, user=user)
        thread = thread_get(thread_id=context_id, user=user)
    except ApplicationError:
        return None
    stored = _a2a_metadata(anchor).get("task_id")
    if str(anchor.assistant_id) != assistant_id or (isinstance(stored, str) and stored and stored != task_id):
        return None
    runs = _context_runs(context_id, user)
    run, newest = _latest_task_run(runs, anchor, task_id, assistant_id)
    state = fmt.state_for_run(run.status, thread_interrupted=newest and thread.status == "interrupted")
    timestamp = (run.updated_at or run.created_at).isoformat()
    return Task(task_id, context_id, run, state, timestamp, _task_ids_by_start_id(runs, context_id, assistant_id))


@in_worker_thread
def _thread_interrupted(context_id: str, user: AuthUser | None) -> bool:
    try:
        return thread_get(thread_id=context_id, user=user).status == "interrupted"
    except ApplicationError:
        return False


def _latest_messages(thread: Any, metadata: dict) -> list | None:
    states = thread_history_list(thread=thread, limit=1, metadata=metadata)
    return (states[0]["values"].get("messages") or []) if states else None


@in_worker_thread
def _run_messages(context_id: str, run_id: str, user: AuthUser | None) -> tuple[list, int | None]:
    """(the thread's messages at the end of the run, index of the first one the run added, or None)."""
    thread = thread_get(thread_id=context_id, user=user)
    messages = _latest_messages(thread, {"run_id": run_id})
    before = _latest_messages(thread, {"run_id": run_id, "source": "input"})
    if messages is None:
        return [], None
    if before is None:
        return messages, None
    if messages[: len(before)] == before:
        return messages, len(before)
    ids = {m.get("id") for m in before if isinstance(m, dict)}
    if len(ids) != len(before) or None in ids:
        return messages, None
    kept = [i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("id") in ids]
    return messages, (max(kept) + 1 if kept else 0)


def _stamped(messages: list, added_from: int | None, task_id: str) -> list:
    """The messages with the first one the run added marked as the task's, unless it is marked already."""
    if added_from is None or added_from >= len(messages) or not isinstance(messages[added_from], dict):
        return messages
    first = messages[added_from]
    kwargs = first.get("additional_kwargs") if isinstance(first.get("additional_kwargs"), dict) else {}
    stamp = kwargs.get("a2a") if isinstance(kwargs.get("a2a"), dict) else {}
    if stamp.get("task_id") or stamp.get("task_start_id"):
        return messages
    marked = {**first, "additional_kwargs": {**kwargs, "a2a": {**stamp, "task_id": task_id}}}
    return [*messages[:added_from], marked, *messages[added_from + 1 :]]


# --- message/send and message/stream ------------------------------------------------------------------------------


@dataclasses.dataclass
class Turn:
    """A validated message: where it goes and the run input it makes."""

    context_id: str
    task_id: str | None  # None: a new task, named once its run exists
    task_start_id: str | None
    graph_input: dict
    command: dict | None
    message: dict
    history_length: int | None = None
    history_scope: str = "context"
    run_context: Any = None
    starts: dict[str, str] = dataclasses.field(default_factory=dict)  # task_start_id -> task id, in the context


def _history_options(options: dict, header: str | None) -> tuple[int | None, str] | jsonrpc.Outcome:
    length = options.get("historyLength")
    if length is not None and (isinstance(length, bool) or not isinstance(length, int) or length < 0):
        return params_error("historyLength must be a non-negative integer")
    if length is not None and length > MAX_HISTORY_LENGTH:
        return params_error(f"historyLength cannot exceed {MAX_HISTORY_LENGTH}")
    scope = options.get("historyScope")
    scope = (header or "context") if scope is None else scope
    if scope not in ("context", "task"):
        return params_error("historyScope must be 'context' or 'task'")
    return length, scope


def _message_error(message: dict) -> jsonrpc.Outcome | None:
    if not message.get("messageId"):
        return params_error("Missing required 'messageId' in message")
    if not message.get("role"):
        return params_error("Missing required 'role' in message")
    if not isinstance(message.get("parts", []), list):
        return params_error("Invalid params: 'parts' must be an array")
    if not message.get("parts"):
        return params_error("Message must contain at least one part")
    return None


async def _where(message: dict, ctx: CallContext) -> tuple[str, str | None, str | None, dict] | jsonrpc.Outcome:
    """(context_id, task_id, task_start_id, starts) of the message: a new task, or the open task it continues."""
    context_id, task_id = message.get("contextId"), message.get("taskId")
    if context_id is not None and not isinstance(context_id, str):
        return params_error("contextId must be a string")
    if task_id is not None and not isinstance(task_id, str):
        return params_error("taskId must be a string")
    if task_id is None:
        return context_id or str(uuid.uuid4()), None, str(uuid7()), {}
    task = await _task(task_id, context_id, ctx.assistant_id, ctx.user)
    if task is None:
        return jsonrpc.error(TASK_NOT_FOUND, f"Task not found: {task_id}")
    if task.state in fmt.TERMINAL_STATES:
        return jsonrpc.error(UNSUPPORTED_OPERATION, "A terminal task cannot accept another message")
    return task.context_id, task.task_id, None, task.task_ids_by_start_id


async def _resume(message: dict, turn: Turn, ctx: CallContext) -> jsonrpc.Outcome | None:
    """Turn a reply to a waiting task into a resume command: `{"resume": ...}` data, or text while the thread
    is interrupted (officially so). Sets turn.command; returns an error outcome, if any."""
    parts, existing = message["parts"], message.get("taskId")
    context_id = turn.context_id if existing else message.get("contextId")
    found, value, error = fmt.resume_value(parts)
    if error:
        return params_error(error)
    if found:
        if not context_id or not existing:
            return params_error("contextId and taskId are required when resuming a task")
        if not await _thread_interrupted(context_id, ctx.user):
            return params_error("Task is not awaiting input")
        turn.graph_input.pop("resume", None)
        turn.command = {"resume": value}
        return None
    text = fmt.joined_text(parts)
    if text is not None and context_id and existing and await _thread_interrupted(context_id, ctx.user):
        turn.graph_input.pop("messages", None)
        turn.command = {"resume": text}
    return None


async def _turn(params: dict, ctx: CallContext, *, with_options: bool) -> Turn | jsonrpc.Outcome:
    """The validated message of message/send (`with_options`: its configuration too) or message/stream."""
    options: tuple[int | None, str] | jsonrpc.Outcome = (None, "context")
    if with_options:
        configuration = params.get("configuration") or {}
        if not isinstance(configuration, dict):
            return params_error("Invalid params: 'configuration' must be an object")
        options = _history_options(configuration, ctx.history_scope_header)
        if isinstance(options, dict):
            return options
    message = params["message"]
    if (error := _message_error(message)) is not None:
        return error
    try:
        await _checked_assistant(ctx.assistant_id, message["parts"], ctx.user, ctx.headers)
    except ValueError as exc:
        return params_error(str(exc))
    where = await _where(message, ctx)
    if isinstance(where, dict):
        return where
    context_id, task_id, start_id, starts = where
    stamp = {"task_id": task_id} if task_id else {"task_start_id": start_id}
    try:
        role = fmt.input_role(message.get("role", "ROLE_USER"))
        graph_input = fmt.graph_input(message["parts"], role=role, message_id=message["messageId"], stamp=stamp)
    except fmt.A2UIRefused as exc:
        return params_error(str(exc))
    except ValueError as exc:
        return jsonrpc.error(CONTENT_TYPE_NOT_SUPPORTED, str(exc))
    turn = Turn(context_id, task_id, start_id, graph_input, message.get("command"), message, *options)
    turn.run_context, turn.starts = params.get("context"), starts
    return await _command(message, turn, ctx) or turn


async def _command(message: dict, turn: Turn, ctx: CallContext) -> jsonrpc.Outcome | None:
    """The LangGraph extension `message.command`, or a resume read from the parts."""
    command = turn.command
    if command is not None and command.get("resume") and not message.get("contextId"):
        return params_error("contextId is required when resuming a task with command.resume")
    if command is not None and command.get("resume") and message.get("taskId") is None:
        return params_error("taskId is required when resuming a task")
    if command is None:
        return await _resume(message, turn, ctx)
    return None


def _run_payload(turn: Turn, ctx: CallContext, **extra: Any) -> dict:
    a2a = {"task_id": turn.task_id} if turn.task_id else {"task_start_id": turn.task_start_id}
    payload = {
        "assistant_id": ctx.assistant_id,
        "input": turn.graph_input,
        "metadata": {"a2a": a2a},
        "if_not_exists": "create",
        **extra,
    }
    if turn.command is not None:
        payload["command"] = turn.command
    if turn.run_context is not None:
        payload["context"] = turn.run_context
    return payload


def _run_create_error(exc: ApplicationError, ctx: CallContext, context_id: str) -> jsonrpc.Outcome:
    """A refused run, in the official words (it maps its own client's HTTP errors)."""
    if exc.status_code == 404 and "thread" in exc.detail.lower():
        return jsonrpc.error(
            jsonrpc.INVALID_PARAMS,
            f"Thread '{context_id}' not found. Please create the thread first before sending messages to it.",
            {"thread_id": context_id, "error_type": "thread_not_found"},
        )
    if exc.status_code == 404:
        return params_error(f"Assistant '{ctx.assistant_id}' not found")
    if exc.status_code == 400:
        return params_error(f"Invalid request: {exc.detail}")
    if exc.status_code == 403:
        return params_error("Access denied to assistant or thread")
    return params_error(f"Failed to create run: {exc.detail}")


async def _start(turn: Turn, ctx: CallContext, **extra: Any) -> Any:
    """The turn's run; ApplicationError when it is refused."""
    payload = _run_payload(turn, ctx, **extra)
    return await run_start(thread_id=turn.context_id, payload=payload, user=ctx.user, headers=ctx.headers)


def _name_task(turn: Turn, run: Any) -> None:
    turn.context_id = str(run.thread_id)
    if turn.task_id is None:
        turn.task_id = fmt.make_task_id(turn.context_id, str(run.run_id))


async def message_send(params: dict, ctx: CallContext) -> jsonrpc.Outcome:
    """Run the message's turn to its end and answer the Task."""
    turn = await _turn(params, ctx, with_options=True)
    if isinstance(turn, dict):
        return turn
    try:
        run = await _start(turn, ctx)
    except ApplicationError as exc:
        return _run_create_error(exc, ctx, turn.context_id)
    new_task = turn.task_id is None
    _name_task(turn, run)
    if new_task:
        runs = await in_worker_thread(_context_runs)(turn.context_id, ctx.user)
        turn.starts = _task_ids_by_start_id(runs, turn.context_id, ctx.assistant_id)
        turn.starts.setdefault(turn.task_start_id, turn.task_id)
    result = await run_result(run.run_id)
    return await _send_answer(turn, ctx, run, result if isinstance(result, dict) else {})


async def _send_answer(turn: Turn, ctx: CallContext, run: Any, result: dict) -> jsonrpc.Outcome:
    data_only = turn.command is None and "messages" not in turn.graph_input
    turn_messages = None
    if data_only or (turn.history_scope == "task" and turn.history_length != 0 and "messages" not in turn.graph_input):
        messages, added_from = await _run_messages(turn.context_id, str(run.run_id), ctx.user)
        result = {**result, "messages": _stamped(messages, added_from, turn.task_id)}
        if data_only and added_from is not None:
            turn_messages = messages[added_from:]
    try:
        shown = fmt.history(
            result.get("messages") or [],
            turn.task_id,
            turn.context_id,
            length=turn.history_length,
            scope=turn.history_scope,
            task_ids_by_start_id=turn.starts,
        )
        task = fmt.finished_task(
            task_id=turn.task_id,
            context_id=turn.context_id,
            result=result,
            assistant_id=ctx.assistant_id,
            history_messages=shown,
            include_history=turn.history_length != 0,
            turn=turn_messages,
        )
    except fmt.InvalidAgentResponse as exc:
        return jsonrpc.error(INVALID_AGENT_RESPONSE, str(exc))
    return jsonrpc.result(task)


async def _data_only_turn(turn: Turn, run: Any, ctx: CallContext) -> list | None:
    """The messages a run added when the input had none (data parts only): the turn to answer from."""
    if turn.command is not None or "messages" in turn.graph_input:
        return None
    messages, added_from = await _run_messages(turn.context_id, str(run.run_id), ctx.user)
    return None if added_from is None else messages[added_from:]


def _initial_task(turn: Turn) -> dict:
    shown = {"kind": "message", **turn.message, "taskId": turn.task_id, "contextId": turn.context_id}
    status = {"state": "TASK_STATE_SUBMITTED", "timestamp": fmt.now()}
    return {
        "task": {"kind": "task", "id": turn.task_id, "contextId": turn.context_id, "history": [shown], "status": status}
    }


@dataclasses.dataclass
class _Followed:
    """What a run's stream told so far."""

    result: Any = None
    error: Any = None
    working: bool = False
    seen_start: bool = False


def _on_event(followed: _Followed, turn: Turn, event: str, data: Any) -> dict | None:
    """One event of the run's log: the update to send for it, if any."""
    if event == "metadata":
        if not followed.seen_start:  # the start event names the run, already known
            followed.seen_start = True
        elif isinstance(data, dict) and data.get("run_id") and not followed.working:
            followed.working = True
            return fmt.status_update(turn.task_id, turn.context_id, {"state": "TASK_STATE_WORKING"}, final=False)
    elif event == "error":
        followed.error = data
    elif event == "values":
        followed.error, followed.result = None, data
    elif event.startswith("messages"):
        followed.error = None  # an error event followed by more output was retried
        if isinstance(data, list) and data:
            return fmt.streamed_message_update(data, turn.task_id, turn.context_id)
    return None


async def _stream_end(followed: _Followed, turn: Turn, run: Any, ctx: CallContext) -> AsyncIterator[jsonrpc.Outcome]:
    """The last updates: the answer (or the interrupt) as an artifact, then the final status."""
    result, error = followed.result, followed.error
    interrupted = isinstance(result, dict) and "__interrupt__" in result
    state = "TASK_STATE_FAILED" if error else "TASK_STATE_INPUT_REQUIRED" if interrupted else "TASK_STATE_COMPLETED"
    status: dict[str, Any] = {"state": state}
    if isinstance(error, dict) and ("__error__" in error or "error" in error):
        inner = error.get("__error__")
        text = inner.get("error") if isinstance(inner, dict) else error.get("message")
        status["message"] = fmt.agent_message(str(text or ""), turn.task_id, turn.context_id)
    status["timestamp"] = fmt.now()
    if state == "TASK_STATE_COMPLETED" and isinstance(result, dict):
        parts = fmt.response_parts(result, await _data_only_turn(turn, run, ctx))
        yield jsonrpc.result(
            fmt.artifact_update(turn.task_id, turn.context_id, fmt.response_artifact(parts, ctx.assistant_id))
        )
    if interrupted:
        artifact = fmt.interrupt_artifact(result["__interrupt__"])
        yield jsonrpc.result(fmt.artifact_update(turn.task_id, turn.context_id, artifact, last=False))
    yield jsonrpc.result(fmt.status_update(turn.task_id, turn.context_id, status, final=True))


async def stream_outcomes(params: dict, ctx: CallContext) -> AsyncIterator[jsonrpc.Outcome]:
    turn = await _turn(params, ctx, with_options=False)
    if isinstance(turn, dict):
        yield turn
        return
    run = await _start(turn, ctx, stream_mode=["messages", "values"])
    _name_task(turn, run)
    yield jsonrpc.result(_initial_task(turn))
    followed = _Followed()
    async for event, data in run_events(run):
        if (update := _on_event(followed, turn, event, json.loads(data))) is not None:
            yield jsonrpc.result(update)
    async for outcome in _stream_end(followed, turn, run, ctx):
        yield outcome


# --- tasks/get, tasks/cancel ------------------------------------------------------------------------------------------


def _task_params_error(params: dict) -> jsonrpc.Outcome | None:
    task_id, context_id = params.get("id"), params.get("contextId")
    if not task_id:
        return params_error("Missing required parameter: id (task_id)")
    if not isinstance(task_id, str) or (context_id is not None and not isinstance(context_id, str)):
        return params_error("Task id and contextId must be strings")
    return None


async def _task_history(task: Task, length: int | None, scope: str, ctx: CallContext) -> list:
    messages, added_from = await _run_messages(task.context_id, str(task.run.run_id), ctx.user)
    messages = _stamped(messages, added_from, task.task_id)
    return fmt.history(
        messages,
        task.task_id,
        task.context_id,
        length=length,
        scope=scope,
        task_ids_by_start_id=task.task_ids_by_start_id,
    )


async def tasks_get(params: dict, ctx: CallContext) -> jsonrpc.Outcome:
    """The task's state now, with the thread's messages as of its latest run."""
    if (error := _task_params_error(params)) is not None:
        return error
    task_id, context_id = params["id"], params.get("contextId")
    task = await _task(task_id, context_id, ctx.assistant_id, ctx.user)
    if task is None:
        where = f" in context '{context_id}'" if context_id else ""
        return jsonrpc.error(TASK_NOT_FOUND, f"Task not found: {task_id}{where}")
    options = _history_options(params, ctx.history_scope_header)
    if isinstance(options, dict):
        return options
    length, scope = options
    status: dict[str, Any] = {"state": task.state, "timestamp": task.timestamp}
    found: dict[str, Any] = {"kind": "task", "id": task.task_id, "contextId": task.context_id, "status": status}
    if length != 0:
        try:
            found["history"] = await _task_history(task, length, scope, ctx)
        except fmt.InvalidAgentResponse as exc:
            return jsonrpc.error(INVALID_AGENT_RESPONSE, str(exc))
    if task.state == "TASK_STATE_COMPLETED":
        status["message"] = fmt.agent_message("Task completed successfully", task.task_id)
    elif task.state == "TASK_STATE_FAILED":
        status["message"] = fmt.agent_message(f"Task failed with status: {task.run.status}", task.task_id)
    return jsonrpc.result(found)


@in_worker_thread
def _cancel_run(context_id: str, run_id: Any, user: AuthUser | None) -> None:
    run_cancel(thread_id=context_id, run_ids=[run_id], action="interrupt", user=user)


async def _cancel_waiting_task(task: Task, ctx: CallContext) -> None:
    """A task waiting for input has no run to cancel: record a cancelled run for it (so tasks/get says
    canceled), then end the thread's interrupt, as officially."""
    stamp = {**_a2a_metadata(task.run), "task_id": _task_id_of(task.run, task.context_id)}
    payload = {"assistant_id": ctx.assistant_id, "metadata": {"a2a": stamp}, "after_seconds": 3600}
    marker = await run_start(thread_id=task.context_id, payload=payload, user=ctx.user, headers=ctx.headers)
    await _cancel_run(task.context_id, marker.run_id, ctx.user)
    await run_result(marker.run_id)
    await in_worker_thread(thread_state_update)(
        thread_id=task.context_id, values=None, as_node="__end__", user=ctx.user
    )


async def tasks_cancel(params: dict, ctx: CallContext) -> jsonrpc.Outcome:
    """Interrupt the task's run (and wait until it has stopped); a finished task cannot be cancelled."""
    if (error := _task_params_error(params)) is not None:
        return error
    task = await _task(params["id"], params.get("contextId"), ctx.assistant_id, ctx.user)
    if task is None:
        return jsonrpc.error(TASK_NOT_FOUND, f"Task not found: {params['id']}")
    if task.state in fmt.TERMINAL_STATES:
        return jsonrpc.error(TASK_NOT_CANCELABLE, "Task is not cancelable in its current state")
    if task.state != "TASK_STATE_INPUT_REQUIRED" and task.run.status not in ("pending", "running"):
        return jsonrpc.error(TASK_NOT_CANCELABLE, "Task has no active run to cancel")
    try:
        if task.state == "TASK_STATE_INPUT_REQUIRED":
            await _cancel_waiting_task(task, ctx)
        else:
            await _cancel_run(task.context_id, task.run.run_id, ctx.user)
            await run_result(task.run.run_id)
    except ApplicationError as exc:
        return jsonrpc.error(jsonrpc.INTERNAL_ERROR, f"Failed to cancel task: {exc.detail}")
    status = {
        "state": "TASK_STATE_CANCELED",
        "timestamp": fmt.now(),
        "message": fmt.agent_message("Task was canceled", params["id"]),
    }
    return jsonrpc.result({"kind": "task", "id": params["id"], "contextId": task.context_id, "status": status})
