"""Validation of a run-create body (RunCreateStateful / RunCreateStateless); pure functions, no I/O.

Unknown fields are ignored, as the official server does. `multitask_strategy` and `if_not_exists` are not
validated there either: an unknown value behaves like the default.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from agentplatform.errors import BadRequest, InvalidInput
from runs.stream_events import STREAM_MODES

MULTITASK_STRATEGIES = ("reject", "interrupt", "rollback", "enqueue")
DURABILITIES = ("sync", "async", "exit")
MAX_AFTER_SECONDS = 365 * 24 * 3600
# Keys that the server sets itself; the official server strips them from client config and metadata.
RESERVED_CONFIGURABLE = ("run_id", "thread_id", "graph_id", "assistant_id", "langgraph_request_id", "__after_seconds__")
RESERVED_METADATA = ("thread_id", "assistant_id", "run_id", "cron_id")


@dataclass(frozen=True)
class RunRequest:
    assistant_ref: str
    input: Any
    command: dict | None
    config: dict
    context: dict
    metadata: dict
    stream_mode: list[str]
    interrupt_before: Any
    interrupt_after: Any
    checkpoint: dict | None
    webhook: str | None
    multitask_strategy: str
    if_not_exists: str
    on_completion: str
    after_seconds: float
    durability: str
    feedback_keys: list | None
    subgraphs: bool
    resumable: bool
    checkpoint_during: bool


def _dict(payload: dict, name: str) -> dict:
    value = payload.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{name}: {value!r} is not of type 'object'")
    return value


def _stream_modes(value: Any) -> list[str]:
    if value is None or value == []:
        return ["values"]
    modes = value if isinstance(value, list) else [value]
    v2_only = sorted({"tools", "lifecycle"}.intersection(m for m in modes if isinstance(m, str)))
    if v2_only:
        raise InvalidInput(f"stream_mode entries {v2_only!r} are only supported on the v2 event streaming endpoints.")
    for mode in modes:
        if mode not in STREAM_MODES:
            raise InvalidInput(f"stream_mode: {mode!r} is not one of {list(STREAM_MODES)}")
    return list(dict.fromkeys(modes))


def _node_list(payload: dict, name: str) -> Any:
    value = payload.get(name)
    if value is None or value == "*":
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise InvalidInput(f"{name}: must be '*' or a list of node names")


def _after_seconds(value: Any) -> float:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_AFTER_SECONDS:
        raise InvalidInput(f"after_seconds: must be a number between 0 and {MAX_AFTER_SECONDS}")
    return value


def _durability(payload: dict) -> str:
    value = payload.get("durability")
    if value is None:
        return "exit" if payload.get("checkpoint_during") is False else "async"
    if value not in DURABILITIES:
        raise InvalidInput(f"durability: {value!r} is not one of {list(DURABILITIES)}")
    return value


def _check_types(value: dict, name: str, types: dict[str, type]) -> None:
    """Fields LangGraph reads with a fixed type fail the run later (or the request with a 500) when wrong."""
    for key, expected in types.items():
        item = value.get(key)
        wrong = not isinstance(item, expected) or (isinstance(item, bool) and expected is not bool)
        if item is not None and wrong:
            raise InvalidInput(f"{name}.{key}: {item!r} is not of type '{expected.__name__}'")


def _checkpoint(payload: dict) -> dict | None:
    checkpoint = {k: v for k, v in _dict(payload, "checkpoint").items() if v is not None}
    _check_types(checkpoint, "checkpoint", {"checkpoint_id": str, "checkpoint_ns": str, "checkpoint_map": dict})
    checkpoint_id = payload.get("checkpoint_id")
    if checkpoint_id is not None:
        try:
            checkpoint["checkpoint_id"] = str(uuid.UUID(str(checkpoint_id)))
        except ValueError:
            raise InvalidInput("Invalid checkpoint ID") from None
    return checkpoint or None


def _command(payload: dict, *, stateless: bool) -> dict | None:
    command = payload.get("command")
    if command is None:
        return None
    if not isinstance(command, dict):
        raise InvalidInput(f"command: {command!r} is not of type 'object'")
    if command.get("resume") is not None and stateless:
        raise BadRequest("You must provide a thread_id when resuming.")
    return command


def _config_and_context(payload: dict) -> tuple[dict, dict]:
    config = dict(_dict(payload, "config"))
    configurable = config.get("configurable") or {}
    if not isinstance(configurable, dict):
        raise InvalidInput("config.configurable: must be an object")
    _check_types(config, "config", {"metadata": dict, "tags": list, "recursion_limit": int})
    if not all(isinstance(tag, str) for tag in config.get("tags") or []):
        raise InvalidInput("config.tags: must be a list of strings")
    context = _dict(payload, "context")
    if configurable and context:
        raise BadRequest(
            "Cannot specify both configurable and context. Prefer setting context alone. Context was introduced "
            "in LangGraph 0.6.0 and is the long term planned replacement for configurable."
        )
    # Context and configurable mirror each other, as on the official server.
    source = context or configurable
    config["configurable"] = {k: v for k, v in source.items() if k not in RESERVED_CONFIGURABLE}
    return config, dict(config["configurable"])


def _choice(payload: dict, name: str, choices: tuple[str, ...], default: str) -> str:
    value = payload.get(name)
    if value is None:
        return default
    if value not in choices:
        raise InvalidInput(f"{name}: {value!r} is not one of {list(choices)}")
    return value


def parse_run_payload(payload: Any, *, stateless: bool) -> RunRequest:
    """The validated request, or InvalidInput (422) / BadRequest (400) with the official wording."""
    if not isinstance(payload, dict):
        raise InvalidInput("Request body must be a JSON object")
    assistant_ref = payload.get("assistant_id")
    if not isinstance(assistant_ref, str) or not assistant_ref:
        raise InvalidInput("'assistant_id' is a required property")
    on_completion = _choice(payload, "on_completion", ("delete", "keep"), "delete" if stateless else "keep")
    config, context = _config_and_context(payload)
    metadata = {k: v for k, v in _dict(payload, "metadata").items() if k not in RESERVED_METADATA}
    webhook = payload.get("webhook")
    if webhook is not None and not isinstance(webhook, str):
        raise InvalidInput("webhook: must be a URL string")
    _choice(payload, "on_disconnect", ("cancel", "continue"), "continue")
    feedback_keys = payload.get("feedback_keys")
    if feedback_keys is not None and not isinstance(feedback_keys, list):
        raise InvalidInput("feedback_keys: must be a list of strings")
    return RunRequest(
        assistant_ref=assistant_ref,
        input=payload.get("input"),
        command=_command(payload, stateless=stateless),
        config=config,
        context=context,
        metadata=metadata,
        stream_mode=_stream_modes(payload.get("stream_mode")),
        interrupt_before=_node_list(payload, "interrupt_before"),
        interrupt_after=_node_list(payload, "interrupt_after"),
        checkpoint=None if stateless else _checkpoint(payload),
        webhook=webhook,
        multitask_strategy=_strategy(payload.get("multitask_strategy")),
        if_not_exists="create" if stateless else _if_not_exists(payload.get("if_not_exists")),
        on_completion=on_completion,
        after_seconds=_after_seconds(payload.get("after_seconds")),
        durability=_durability(payload),
        feedback_keys=feedback_keys,
        subgraphs=bool(payload.get("stream_subgraphs")),
        resumable=bool(payload.get("stream_resumable")),
        checkpoint_during=payload.get("checkpoint_during", True) is not False,
    )


def _strategy(value: Any) -> str:
    # The official server accepts any value here and treats an unknown one like the default.
    return value if value in MULTITASK_STRATEGIES else "enqueue"


def _if_not_exists(value: Any) -> str:
    return "create" if value == "create" else "reject"
