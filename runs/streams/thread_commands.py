"""The commands of the thread-centric protocol (`POST /threads/{id}/commands`, and websocket frames): `run.start`
and `input.respond` create runs through runs.services.run_create, like every other route; nothing else executes.

A command is `{"id": <int>, "method": <str>, "params": {...}}`; the answer is a success or error envelope with the
command's id. Protocol-level refusals are error envelopes with the official codes (`invalid_argument`,
`unknown_command`, `no_such_run`, `no_such_interrupt`); what run_create refuses (an unknown assistant, another
user's thread, `reject` on a busy thread) raises its ApplicationError for the transport to answer.

The runs carry protocol_events.PROTOCOL_RUN_KEY, so the worker streams them as protocol events. The first
`run.start` of a thread id creates the thread (`if_not_exists: create`), as officially.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from access.users import AuthUser
from agentplatform.db_threads import in_worker_thread
from agentplatform.errors import NotFound
from runs.models import Run
from runs.services import run_create
from runs.streams.protocol_events import PROTOCOL_RUN_KEY
from runs.streams.thread_events import is_channel
from threads.models import Thread
from threads.selectors import thread_stream_allowed

KNOWN_COMMANDS = frozenset(
    {
        "run.start",
        "input.respond",
        "agent.getTree",
        "subscription.subscribe",
        "subscription.unsubscribe",
        "subscription.reconnect",
    }
)
MULTITASK_STRATEGIES = ("reject", "interrupt", "rollback", "enqueue")
# The modes a protocol run records (the worker streams every protocol channel whatever they say).
RUN_STREAM_MODES = ["values", "updates", "messages", "custom", "tasks", "checkpoints"]
# The worker writes a paused run's interrupts just after streaming them: a quick input.respond waits this long.
INTERRUPT_SETTLE_SECONDS = 5.0
_SETTLE_POLL_SECONDS = 0.05
MALFORMED = "Protocol commands must include an integer id and string method."


def _check_visible(thread_id: uuid.UUID, user: AuthUser | None) -> None:
    """NotFound when the thread exists but is not `user`'s to read, as an unknown id answers elsewhere. An unknown
    id passes: its first run.start creates it. Without an auth filter, no query at all."""
    if not thread_stream_allowed(thread_id=thread_id, user=user) and Thread.objects.filter(pk=thread_id).exists():
        raise NotFound(f"Thread with ID {thread_id} not found")


def error(command_id: Any, code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "id": command_id, "error": code, "message": message}


def success(command_id: Any, result: dict[str, Any]) -> dict[str, Any]:
    # Commands over HTTP hold no stream: nothing was delivered through them, so the cursor they report is 0.
    return {"type": "success", "id": command_id, "result": result, "meta": {"applied_through_seq": 0}}


def malformed(payload: Any) -> dict[str, Any] | None:
    """The error envelope of a frame that is no command, or None."""
    if isinstance(payload, dict) and _is_int(payload.get("id")) and isinstance(payload.get("method"), str):
        return None
    return error(payload.get("id") if isinstance(payload, dict) else None, "invalid_argument", MALFORMED)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _params(command: dict) -> dict:
    params = command.get("params")
    return params if isinstance(params, dict) else {}


async def thread_command(
    *, thread_id: uuid.UUID, command: dict, user: AuthUser | None, headers: dict[str, str]
) -> dict[str, Any]:
    """Answer one well-formed command (see `malformed`) about the thread."""
    command_id, method = command["id"], command["method"]
    if method not in KNOWN_COMMANDS:
        return error(command_id, "unknown_command", f"Unknown protocol command: {method}")
    if method == "run.start":
        return await _run_start(thread_id, command_id, _params(command), user, headers)
    if method == "input.respond":
        return await _input_respond(thread_id, command_id, _params(command), user, headers)
    if method == "subscription.subscribe":
        return subscribe_without_stream(command_id, _params(command))
    if method == "subscription.unsubscribe":
        sub_id = _params(command).get("subscription_id")
        if not isinstance(sub_id, str):
            return error(command_id, "invalid_argument", "subscription.unsubscribe requires a subscription_id.")
        return error(command_id, "no_such_subscription", f"Unknown subscription: {sub_id}")
    return error(command_id, "no_such_run", "No active run is bound to this thread.")


def subscription_error(command_id: Any, params: dict) -> dict[str, Any] | None:
    channels = params.get("channels")
    if not isinstance(channels, list) or not channels:
        return error(command_id, "invalid_argument", "subscription.subscribe requires a non-empty channels array.")
    if not all(is_channel(channel) for channel in channels):
        return error(command_id, "invalid_argument", "subscription.subscribe received an unsupported channel.")
    return None


def subscribe_without_stream(command_id: Any, params: dict) -> dict[str, Any]:
    """Over HTTP a subscription has no connection to live on: acknowledged, as officially, and nothing more."""
    refused = subscription_error(command_id, params)
    if refused is not None:
        return refused
    return success(command_id, {"subscription_id": str(uuid.uuid4()), "replayed_events": 0})


def _run_start_error(params: dict) -> str | None:
    if not isinstance(params.get("assistant_id"), str) or not params["assistant_id"]:
        return "run.start requires an assistant_id."
    configurable = (params.get("config") or {}).get("configurable") if isinstance(params.get("config"), dict) else {}
    checkpoint_id = (configurable or {}).get("checkpoint_id") if isinstance(configurable, dict) else None
    if checkpoint_id is not None:
        if not isinstance(checkpoint_id, str) or not checkpoint_id.strip():
            return "config.configurable.checkpoint_id must be a non-empty string."
        try:
            uuid.UUID(checkpoint_id)
        except ValueError:
            return f"Invalid config.configurable.checkpoint_id: {checkpoint_id!r}."
    return _tracer_error(params.get("langsmith_tracer"))


def _tracer_error(tracer: Any) -> str | None:
    if tracer is None:
        return None
    if not isinstance(tracer, dict):
        return "langsmith_tracer must be an object."
    unknown = tracer.keys() - {"project_name", "example_id"}
    if unknown:
        return f"langsmith_tracer has unsupported fields: {sorted(unknown)!r}."
    wrong = [key for key, value in tracer.items() if not isinstance(value, str)]
    return f"langsmith_tracer.{wrong[0]} must be a string." if wrong else None


def _protocol_config(config: Any) -> dict:
    config = dict(config) if isinstance(config, dict) else {}
    configurable = config.get("configurable") if isinstance(config.get("configurable"), dict) else {}
    config["configurable"] = {**configurable, PROTOCOL_RUN_KEY: True}
    return config


def _run_payload(assistant_id: str, params: dict, *, command: dict | None = None) -> dict[str, Any]:
    strategy = params.get("multitaskStrategy")
    payload: dict[str, Any] = {
        "assistant_id": assistant_id,
        "input": None if command is not None else params.get("input"),
        "config": _protocol_config(params.get("config")),
        "stream_mode": RUN_STREAM_MODES,
        "stream_subgraphs": True,
        "stream_resumable": True,
        "if_not_exists": "create",
        "multitask_strategy": strategy if strategy in MULTITASK_STRATEGIES else "enqueue",
    }
    if command is not None:
        payload["command"] = command
    if isinstance(params.get("metadata"), dict):
        payload["metadata"] = params["metadata"]
    return payload


def _thread_row(thread_id: uuid.UUID) -> dict | None:
    return Thread.objects.filter(thread_id=thread_id).values("status", "interrupts", "metadata").first()


def _interrupt_ids(row: dict | None) -> set[str]:
    interrupts = (row or {}).get("interrupts") or {}
    return {entry["id"] for entries in interrupts.values() for entry in entries or [] if isinstance(entry, dict)}


async def _settled_thread(thread_id: uuid.UUID) -> dict | None:
    """The thread's row once its run has written its interrupts (or stopped being busy), within the settle time."""
    deadline = time.monotonic() + INTERRUPT_SETTLE_SECONDS
    read = in_worker_thread(_thread_row)
    row = await read(thread_id)
    while row is not None and row["status"] == Thread.Status.BUSY and not _interrupt_ids(row):
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(_SETTLE_POLL_SECONDS)
        row = await read(thread_id)
    return row


@in_worker_thread
def _create(thread_id: uuid.UUID, payload: dict, user: AuthUser | None, headers: dict[str, str]) -> Run:
    _check_visible(thread_id, user)
    return run_create(thread_id=thread_id, payload=payload, user=user, headers=headers)


@in_worker_thread
def _start(thread_id: uuid.UUID, params: dict, user: AuthUser | None, headers: dict[str, str]) -> Run:
    """The run of a run.start, in one trip to the database thread. With input on a thread paused on interrupts,
    the run resumes it with that input (as officially)."""
    _check_visible(thread_id, user)
    command = None
    if params.get("input") is not None:
        row = _thread_row(thread_id)
        if row is not None and (row["status"] == Thread.Status.INTERRUPTED or _interrupt_ids(row)):
            command = {"resume": params["input"]}
    payload = _run_payload(params["assistant_id"], params, command=command)
    return run_create(thread_id=thread_id, payload=payload, user=user, headers=headers)


async def _run_start(
    thread_id: uuid.UUID, command_id: int, params: dict, user: AuthUser | None, headers: dict[str, str]
) -> dict[str, Any]:
    refused = _run_start_error(params)
    if refused is not None:
        return error(command_id, "invalid_argument", refused)
    run = await _start(thread_id, params, user, headers)
    return success(command_id, {"run_id": str(run.run_id)})


def _respond_entries(params: dict) -> list[tuple[str, Any]] | str:
    """[(interrupt_id, response)] of an input.respond (one, or a `responses` batch), or what is wrong with it."""
    raw = params.get("responses")
    items = raw if isinstance(raw, list) else [params]
    if isinstance(raw, list) and not raw:
        return "input.respond requires at least one response."
    entries = []
    for item in items:
        if not isinstance(item, dict):
            return "input.respond responses entries must be objects."
        if not isinstance(item.get("interrupt_id"), str):
            return "input.respond requires an interrupt_id."
        namespace = item.get("namespace", [])
        if not isinstance(namespace, list) or not all(isinstance(seg, str) for seg in namespace):
            return "input.respond requires namespace to be a list of strings."
        entries.append((item["interrupt_id"], item.get("response")))
    return entries


async def _input_respond(
    thread_id: uuid.UUID, command_id: int, params: dict, user: AuthUser | None, headers: dict[str, str]
) -> dict[str, Any]:
    """Resume the paused thread with one run whose command answers every named interrupt."""
    entries = _respond_entries(params)
    if isinstance(entries, str):
        return error(command_id, "invalid_argument", entries)
    await in_worker_thread(_check_visible)(thread_id, user)
    row = await _settled_thread(thread_id)
    assistant_id = ((row or {}).get("metadata") or {}).get("assistant_id")
    if not isinstance(assistant_id, str):
        return error(command_id, "no_such_run", "No interrupted run is bound to this thread.")
    pending = _interrupt_ids(row)
    for interrupt_id, _ in entries:
        if interrupt_id not in pending:
            return error(command_id, "no_such_interrupt", f"Unknown or already-consumed interrupt: {interrupt_id}")
    command: dict[str, Any] = {"resume": dict(entries)}
    command.update({key: params[key] for key in ("update", "goto") if params.get(key) is not None})
    await _create(thread_id, _run_payload(assistant_id, params, command=command), user, headers)
    return success(command_id, {})
