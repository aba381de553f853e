"""The run-create contract (RunCreateStateful / RunCreateStateless), written once; pure functions, no I/O.

`RUN_CREATE_FIELDS` is the one definition of the body: each field carries its OpenAPI schema (type, enum,
default, description) and the reader that validates it with the official wording. `parse_run_payload` reads the
fields in table order (so the first bad field decides the error) into a `RunRequest`; `run_create_schema` builds
the OpenAPI components from the same table. Every endpoint that creates runs (thread and stateless runs, /wait,
/stream, batch, crons) goes through them.

As on the official server, which validates each body against its JSON schema: a field the body documents is
refused with 422 when its type or enum is wrong, or when it is null and its schema does not allow null; a field
the body does not document (multitask_strategy on a stateless run, on_disconnect outside /wait and /stream) is
not validated, and an unknown value of it behaves like the default; unknown fields are ignored.
`/wait` and `/stream` take the streaming bodies (RunCreateStreaming*), which add `on_disconnect`.
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from agentplatform.errors import BadRequest, InvalidInput
from agentplatform.reserved import config_and_context, without_reserved_metadata


class StreamMode(StrEnum):
    """Stream modes a client may request on run creation (others get 422)."""

    VALUES = "values"
    UPDATES = "updates"
    MESSAGES = "messages"
    MESSAGES_TUPLE = "messages-tuple"
    CUSTOM = "custom"
    EVENTS = "events"
    DEBUG = "debug"
    TASKS = "tasks"
    CHECKPOINTS = "checkpoints"


class MultitaskStrategy(StrEnum):
    """What a run does to the runs already in flight on its thread (double texting)."""

    REJECT = "reject"
    INTERRUPT = "interrupt"
    ROLLBACK = "rollback"
    ENQUEUE = "enqueue"


class IfNotExists(StrEnum):
    REJECT = "reject"
    CREATE = "create"


class OnCompletion(StrEnum):
    DELETE = "delete"
    KEEP = "keep"


class OnDisconnect(StrEnum):
    CANCEL = "cancel"
    CONTINUE = "continue"


class Durability(StrEnum):
    SYNC = "sync"
    ASYNC = "async"
    EXIT = "exit"


class Body(StrEnum):
    """The two bodies, named as their OpenAPI components; a stateless run has a thread nobody else knows."""

    STATEFUL = "RunCreateStateful"
    STATELESS = "RunCreateStateless"


BOTH = frozenset(Body)
MAX_AFTER_SECONDS = 365 * 24 * 3600
V2_ONLY_STREAM_MODES = frozenset({"tools", "lifecycle"})
# Run creation stamps these into config.configurable itself: a client's own values would only leak into context.
RUN_STAMPED_CONFIGURABLE = ("run_id", "thread_id", "graph_id", "assistant_id")


@dataclass(frozen=True)
class RunRequest:
    assistant_ref: str
    input: Any
    command: dict | None
    config: dict
    context: dict
    metadata: dict
    stream_mode: list[StreamMode]
    interrupt_before: Any
    interrupt_after: Any
    checkpoint: dict | None
    webhook: str | None
    multitask_strategy: MultitaskStrategy
    if_not_exists: IfNotExists
    on_completion: OnCompletion
    on_disconnect: OnDisconnect  # for /wait and /stream, whose views act on it
    after_seconds: float
    durability: Durability
    feedback_keys: list | None
    subgraphs: bool
    resumable: bool
    checkpoint_during: bool


# A reader validates its field in the body and answers the RunRequest attributes it fills (none, one or more).
Reader = Callable[["RunField", dict, Body], dict[str, Any]]


@dataclass(frozen=True)
class RunField:
    """One property of the run-create body: how it is read, and what its OpenAPI schema says.

    `shape` holds the OpenAPI type keywords (an `enum` gives them itself); `defaults` the value per body when the
    field is absent; `documented` the bodies whose schema lists it; `fixed` the bodies that ignore the client's
    value, with the attributes they set instead.
    """

    name: str
    read: Reader
    shape: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    enum: type[StrEnum] | None = None
    defaults: Mapping[Body, Any] = dataclasses.field(default_factory=dict)
    description: str | None = None
    documented: frozenset[Body] = BOTH
    fixed: Mapping[Body, dict[str, Any]] = dataclasses.field(default_factory=dict)
    required: bool = False
    streaming_only: bool = False  # documented in the streaming bodies of `documented` only

    def in_body(self, body: Body, *, streaming: bool) -> bool:
        return body in self.documented and (streaming or not self.streaming_only)

    @property
    def nullable(self) -> bool:
        return bool(self.shape.get("nullable"))

    @property
    def json_type(self) -> str:
        """The type named in a 422 for a wrong value (as JSON schema names it)."""
        return "string" if self.enum else str(self.shape.get("type", "object"))

    @property
    def choices(self) -> list[str]:
        return [member.value for member in self.enum or ()]

    def openapi(self, body: Body) -> dict[str, Any]:
        schema = {"type": "string", "enum": self.choices} if self.enum else copy.deepcopy(dict(self.shape))
        if body in self.defaults:
            schema["default"] = _plain(self.defaults[body])
        if self.description:
            schema["description"] = self.description
        return schema


def _plain(value: Any) -> Any:
    return [_plain(item) for item in value] if isinstance(value, list) else value


def _same(value: Any) -> dict[Body, Any]:
    return dict.fromkeys(Body, value)


# --- readers ------------------------------------------------------------------------------------------------------


def _object(payload: dict, name: str) -> dict:
    value = payload.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{name}: {value!r} is not of type 'object'")
    return value


def _check_types(value: dict, name: str, types: dict[str, type]) -> None:
    """Fields LangGraph reads with a fixed type fail the run later (or the request with a 500) when wrong."""
    for key, expected in types.items():
        item = value.get(key)
        wrong = not isinstance(item, expected) or (isinstance(item, bool) and expected is not bool)
        if item is not None and wrong:
            raise InvalidInput(f"{name}.{key}: {item!r} is not of type '{expected.__name__}'")


def _read_choice(field: RunField, payload: dict, body: Body) -> dict[str, Any]:
    value = payload.get(field.name)
    if value is None:
        return {field.name: field.defaults[body]}
    if value not in field.choices:
        raise InvalidInput(f"{field.name}: {value!r} is not one of {field.choices}")
    return {field.name: field.enum(value)}


def _lenient_choice(field: RunField, payload: dict, body: Body) -> dict[str, Any]:
    # A field this body does not document: the official server does not validate it, an unknown value is the default.
    value = payload.get(field.name)
    return {field.name: field.enum(value) if value in field.choices else field.defaults[body]}


def _read_as_is(field: RunField, payload: dict, body: Body) -> dict[str, Any]:
    return {field.name: payload.get(field.name)}


def _read_flag(attr: str) -> Reader:
    def read(field: RunField, payload: dict, body: Body) -> dict[str, Any]:
        value = payload.get(field.name, field.defaults[body])
        if not isinstance(value, bool):
            raise InvalidInput(f"{field.name}: {value!r} is not of type 'boolean'")
        return {attr: value}

    return read


def _read_with_previous(field: RunField, payload: dict, body: Body) -> dict[str, Any]:
    """For a field that the reader of the field listed just before it validates too (they are read together)."""
    return {}


def _read_assistant(field: RunField, payload: dict, body: Body) -> dict[str, Any]:
    assistant_ref = payload.get("assistant_id")
    if not isinstance(assistant_ref, str) or not assistant_ref:
        raise InvalidInput("'assistant_id' is a required property")
    return {"assistant_ref": assistant_ref}


def _read_config_and_context(field: RunField, payload: dict, body: Body) -> dict[str, Any]:
    """Both fields at once: they mirror each other, and sending both is a 400."""
    config = _object(payload, "config")
    if not isinstance(config.get("configurable") or {}, dict):
        raise InvalidInput("config.configurable: must be an object")
    _check_types(config, "config", {"metadata": dict, "tags": list, "recursion_limit": int})
    if not all(isinstance(tag, str) for tag in config.get("tags") or []):
        raise InvalidInput("config.tags: must be a list of strings")
    config = {**config, "configurable": config.get("configurable") or {}}  # null or [] means none
    config, context = config_and_context(config, _object(payload, "context"), also_reserved=RUN_STAMPED_CONFIGURABLE)
    return {"config": config, "context": context or {}}


def _read_metadata(field: RunField, payload: dict, body: Body) -> dict[str, Any]:
    return {"metadata": without_reserved_metadata(_object(payload, "metadata"))}


def _read_webhook(field: RunField, payload: dict, body: Body) -> dict[str, Any]:
    webhook = payload.get("webhook")
    if webhook is not None and not isinstance(webhook, str):
        raise InvalidInput("webhook: must be a URL string")
    return {"webhook": webhook}


def _read_feedback_keys(field: RunField, payload: dict, body: Body) -> dict[str, Any]:
    feedback_keys = payload.get("feedback_keys")
    if feedback_keys is not None and (
        not isinstance(feedback_keys, list) or not all(isinstance(key, str) for key in feedback_keys)
    ):
        raise InvalidInput("feedback_keys: must be a list of strings")
    return {"feedback_keys": feedback_keys}


def _read_command(field: RunField, payload: dict, body: Body) -> dict[str, Any]:
    command = payload.get("command")
    if command is not None and not isinstance(command, dict):
        raise InvalidInput(f"command: {command!r} is not of type 'object'")
    if command is not None and command.get("resume") is not None and body is Body.STATELESS:
        raise BadRequest("You must provide a thread_id when resuming.")
    return {"command": command}


def _read_stream_mode(field: RunField, payload: dict, body: Body) -> dict[str, Any]:
    value = payload.get("stream_mode")
    if value is None or value == []:
        return {"stream_mode": list(field.defaults[body])}
    modes = value if isinstance(value, list) else [value]
    v2_only = sorted(V2_ONLY_STREAM_MODES.intersection(m for m in modes if isinstance(m, str)))
    if v2_only:
        raise InvalidInput(f"stream_mode entries {v2_only!r} are only supported on the v2 event streaming endpoints.")
    allowed = [mode.value for mode in StreamMode]
    for mode in modes:
        if mode not in allowed:
            raise InvalidInput(f"stream_mode: {mode!r} is not one of {allowed}")
    return {"stream_mode": [StreamMode(mode) for mode in dict.fromkeys(modes)]}


def _read_nodes(field: RunField, payload: dict, body: Body) -> dict[str, Any]:
    value = payload.get(field.name)
    if value is None or value == "*":
        return {field.name: value}
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return {field.name: value}
    raise InvalidInput(f"{field.name}: must be '*' or a list of node names")


def _read_checkpoint(field: RunField, payload: dict, body: Body) -> dict[str, Any]:
    """checkpoint and checkpoint_id at once: the id is merged into the checkpoint."""
    checkpoint = {k: v for k, v in _object(payload, "checkpoint").items() if v is not None}
    _check_types(checkpoint, "checkpoint", {"checkpoint_id": str, "checkpoint_ns": str, "checkpoint_map": dict})
    checkpoint_id = payload.get("checkpoint_id")
    if checkpoint_id is not None:
        try:
            checkpoint["checkpoint_id"] = str(uuid.UUID(str(checkpoint_id)))
        except ValueError:
            raise InvalidInput("Invalid checkpoint ID") from None
    return {"checkpoint": checkpoint or None}


def _read_after_seconds(field: RunField, payload: dict, body: Body) -> dict[str, Any]:
    value = payload.get("after_seconds")
    if value is None:
        return {"after_seconds": field.defaults[body]}
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_AFTER_SECONDS:
        raise InvalidInput(f"after_seconds: must be a number between 0 and {MAX_AFTER_SECONDS}")
    return {"after_seconds": value}


def _read_durability(field: RunField, payload: dict, body: Body) -> dict[str, Any]:
    if payload.get("durability") is None and payload.get("checkpoint_during") is False:
        return {"durability": Durability.EXIT}  # what the deprecated checkpoint_during=false meant
    return _read_choice(field, payload, body)


def _read_checkpoint_during(field: RunField, payload: dict, body: Body) -> dict[str, Any]:
    # Only an explicit false turns checkpointing off, as before the field was deprecated for durability.
    value = payload.get("checkpoint_during")
    if value is not None and not isinstance(value, bool):
        raise InvalidInput(f"checkpoint_during: {value!r} is not of type 'boolean'")
    return {"checkpoint_during": value is not False}


# --- the contract -------------------------------------------------------------------------------------------------

_OBJECT = {"type": "object", "additionalProperties": True}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_NODES = {"anyOf": [{"type": "string", "enum": ["*"]}, _STRINGS]}
STATEFUL_ONLY, STATELESS_ONLY = frozenset({Body.STATEFUL}), frozenset({Body.STATELESS})


def one_or_many(values: list[str]) -> dict[str, Any]:
    """The OpenAPI schema of a field that takes one of `values` or a list of them."""
    one = {"type": "string", "enum": values}
    return {"anyOf": [one, {"type": "array", "items": one}]}


# In reading order, which is also the order of precedence between errors: the first bad field answers.
RUN_CREATE_FIELDS = (
    RunField(
        "assistant_id",
        _read_assistant,
        {"type": "string"},
        required=True,
        description="Assistant ID (UUID) or graph name.",
    ),
    RunField("input", _read_as_is, {"nullable": True}, description="The input to the graph."),
    RunField(
        "on_completion",
        _read_choice,
        enum=OnCompletion,
        documented=STATELESS_ONLY,
        defaults={Body.STATEFUL: OnCompletion.KEEP, Body.STATELESS: OnCompletion.DELETE},
    ),
    RunField("config", _read_config_and_context, _OBJECT, description="`{tags, recursion_limit, configurable}`."),
    RunField(
        "context",
        _read_with_previous,
        _OBJECT,
        description="Static context for the graph (not with config.configurable).",
    ),
    RunField("metadata", _read_metadata, _OBJECT, description="Metadata to assign to the run."),
    RunField(
        "webhook",
        _read_webhook,
        {"type": "string", "format": "uri"},
        description="URL called with the run when it ends.",
    ),
    RunField(
        "on_disconnect",
        _read_choice,
        enum=OnDisconnect,
        defaults=_same(OnDisconnect.CONTINUE),
        streaming_only=True,
        description="What happens to the run when the client goes away (/wait and /stream).",
    ),
    RunField("feedback_keys", _read_feedback_keys, _STRINGS),
    RunField(
        "command",
        _read_command,
        {**_OBJECT, "nullable": True},
        description="`{resume, update, goto}` for an interrupted thread.",
    ),
    RunField(
        "stream_mode",
        _read_stream_mode,
        one_or_many([mode.value for mode in StreamMode]),
        defaults=_same([StreamMode.VALUES]),
    ),
    RunField("stream_subgraphs", _read_flag("subgraphs"), {"type": "boolean"}, defaults=_same(False)),
    RunField(
        "stream_resumable",
        _read_flag("resumable"),
        {"type": "boolean"},
        defaults=_same(False),
        description="Keep events for Last-Event-ID.",
    ),
    RunField("interrupt_before", _read_nodes, _NODES, documented=STATEFUL_ONLY),
    RunField("interrupt_after", _read_nodes, _NODES, documented=STATEFUL_ONLY),
    RunField(
        "checkpoint",
        _read_checkpoint,
        _OBJECT,
        documented=STATEFUL_ONLY,
        fixed={Body.STATELESS: {"checkpoint": None}},
        description="The checkpoint to resume from.",
    ),
    RunField(
        "checkpoint_id",
        _read_with_previous,
        {"type": "string", "nullable": True},
        documented=STATEFUL_ONLY,
        fixed={Body.STATELESS: {}},
        description="The checkpoint to resume from.",
    ),
    RunField(
        "multitask_strategy",
        _read_choice,
        enum=MultitaskStrategy,
        documented=STATEFUL_ONLY,
        defaults=_same(MultitaskStrategy.ENQUEUE),
        description="What to do if the thread is busy.",
    ),
    RunField(
        "if_not_exists",
        _read_choice,
        enum=IfNotExists,
        documented=STATEFUL_ONLY,
        defaults={Body.STATEFUL: IfNotExists.REJECT},
        fixed={Body.STATELESS: {"if_not_exists": IfNotExists.CREATE}},
        description="Create the thread if it does not exist.",
    ),
    RunField(
        "after_seconds",
        _read_after_seconds,
        {"type": "number"},
        defaults=_same(0),
        description="Delay before the run starts.",
    ),
    RunField("durability", _read_durability, enum=Durability, defaults=_same(Durability.ASYNC)),
    RunField(
        "checkpoint_during",
        _read_checkpoint_during,
        {"type": "boolean", "deprecated": True},
        description="Deprecated: use `durability`.",
    ),
)


def _read(run_field: RunField, payload: dict, body: Body, *, streaming: bool) -> dict[str, Any]:
    if not run_field.in_body(body, streaming=streaming):
        return _lenient_choice(run_field, payload, body) if run_field.enum else run_field.read(run_field, payload, body)
    if run_field.name in payload and payload[run_field.name] is None and not run_field.nullable:
        raise InvalidInput(f"{run_field.name}: None is not of type '{run_field.json_type}'")
    return run_field.read(run_field, payload, body)


def parse_run_payload(payload: Any, *, stateless: bool, streaming: bool = False) -> RunRequest:
    """The validated request, or InvalidInput (422) / BadRequest (400) with the official wording.
    `streaming`: the body of /wait and /stream."""
    if not isinstance(payload, dict):
        raise InvalidInput("Request body must be a JSON object")
    body = Body.STATELESS if stateless else Body.STATEFUL
    values: dict[str, Any] = {}
    for run_field in RUN_CREATE_FIELDS:
        fixed = run_field.fixed.get(body)
        values |= fixed if fixed is not None else _read(run_field, payload, body, streaming=streaming)
    return RunRequest(**values)


def run_create_schema(body: Body) -> dict[str, Any]:
    """The OpenAPI component `body.value` (RunCreateStateful or RunCreateStateless)."""
    fields = [run_field for run_field in RUN_CREATE_FIELDS if run_field.in_body(body, streaming=False)]
    return {
        "type": "object",
        "required": [run_field.name for run_field in fields if run_field.required],
        "properties": {run_field.name: run_field.openapi(body) for run_field in fields},
    }


def run_create_streaming_schema(body: Body) -> dict[str, Any]:
    """The streaming body of /wait and /stream: `body`'s schema and the fields only they take."""
    extra = [run_field for run_field in RUN_CREATE_FIELDS if run_field.streaming_only and body in run_field.documented]
    return {
        "allOf": [
            {"$ref": f"#/components/schemas/{body.value}"},
            {"type": "object", "properties": {run_field.name: run_field.openapi(body) for run_field in extra}},
        ]
    }
