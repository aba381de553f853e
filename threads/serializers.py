"""Request validation and the official Thread JSON (timestamps ISO with +00:00, as the official server sends)."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agentplatform.api import JSONObjectField
from threads.models import Thread
from threads.selectors import SORT_ORDERS, THREAD_SORT_FIELDS
from threads.services import TTL_STRATEGIES

THREAD_STATUSES = [s.value for s in Thread.Status]
# Fields `select` may name (official schema.THREAD_FIELDS); extract aliases may not shadow them.
THREAD_FIELDS = (
    "thread_id",
    "created_at",
    "updated_at",
    "state_updated_at",
    "metadata",
    "config",
    "status",
    "values",
    "interrupts",
)
EXTRACTABLE_COLUMNS = ("config", "interrupts", "metadata", "values")
MAX_EXTRACT_PATHS = 10
_ALIAS = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_PATH_SPLIT = re.compile(r"\.|\[")


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def thread_to_dict(thread: Thread, *, include_ttl: bool = False) -> dict[str, Any]:
    data = {
        "thread_id": str(thread.thread_id),
        "created_at": _iso(thread.created_at),
        "updated_at": _iso(thread.updated_at),
        "state_updated_at": _iso(thread.state_updated_at),
        "metadata": thread.metadata or {},
        "status": thread.status,
        "config": thread.config or {},
        "values": thread.values,
        "interrupts": thread.interrupts or {},
        "error": thread.error,
    }
    if include_ttl:
        data["ttl"] = (
            {"strategy": thread.ttl_strategy, "ttl_minutes": thread.ttl_minutes, "expires_at": _iso(thread.expires_at)}
            if thread.ttl_minutes is not None
            else None
        )
    return data


def extract_path_value(data: dict[str, Any], path: str) -> Any:
    """`values.messages[-1].content` read from a thread dict; None wherever the path does not resolve."""
    parts = _PATH_SPLIT.split(path)
    current: Any = data.get(parts[0]) if parts[0] in EXTRACTABLE_COLUMNS else None
    for part in parts[1:]:
        if current is None:
            return None
        if not part:
            continue
        if part.endswith("]"):
            try:
                current = current[int(part[:-1])] if isinstance(current, list) else None
            except (ValueError, IndexError):
                return None
        else:
            current = current.get(part) if isinstance(current, dict) else None
    return current


def thread_search_result(thread: Thread, *, select: list[str] | None, extract: dict[str, str] | None) -> dict:
    full = thread_to_dict(thread)
    data = {k: v for k, v in full.items() if k in select} if select else full
    if extract:
        data["extracted"] = {alias: extract_path_value(full, path) for alias, path in extract.items()}
    return data


_TTL_SHAPE = 'must be a number of minutes or {"ttl": <minutes>, "strategy": "delete"|"keep_latest"}'


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "ttl": {"type": "number", "description": "Minutes"},
            "strategy": {"type": "string", "enum": ["delete", "keep_latest"], "default": "delete"},
        },
    }
)
class TTLField(serializers.Field):
    """`{"ttl": minutes, "strategy": "delete"|"keep_latest"}`; a bare number of minutes is accepted too."""

    def to_internal_value(self, data: Any) -> dict:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            data = {"ttl": data}
        minutes = data.get("ttl") if isinstance(data, dict) else None
        if not isinstance(minutes, (int, float)) or isinstance(minutes, bool):
            raise serializers.ValidationError(_TTL_SHAPE)
        if minutes < 0:
            raise serializers.ValidationError("ttl must be a non-negative number of minutes")
        strategy = data.get("strategy") or "delete"
        if strategy not in TTL_STRATEGIES:
            raise serializers.ValidationError(f"strategy must be one of {list(TTL_STRATEGIES)}")
        return {"ttl": minutes, "strategy": strategy}


def _dict_field() -> JSONObjectField:
    return JSONObjectField(required=False, allow_null=True)


class SuperstepUpdateSerializer(serializers.Serializer):
    values = serializers.JSONField(required=False, allow_null=True)
    command = _dict_field()
    as_node = serializers.CharField()


class SuperstepSerializer(serializers.Serializer):
    updates = SuperstepUpdateSerializer(many=True)


class ThreadCreateSerializer(serializers.Serializer):
    thread_id = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    metadata = _dict_field()
    if_exists = serializers.ChoiceField(["raise", "do_nothing"], required=False, allow_null=True)
    ttl = TTLField(required=False, allow_null=True)
    supersteps = SuperstepSerializer(many=True, required=False, allow_null=True)


class ThreadPatchSerializer(serializers.Serializer):
    metadata = _dict_field()
    ttl = TTLField(required=False, allow_null=True)


class ThreadCountSerializer(serializers.Serializer):
    metadata = _dict_field()
    values = _dict_field()
    status = serializers.ChoiceField(THREAD_STATUSES, required=False, allow_null=True)


class ThreadSearchSerializer(ThreadCountSerializer):
    ids = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)
    limit = serializers.IntegerField(min_value=1, max_value=1000, required=False, allow_null=True)
    offset = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    sort_by = serializers.ChoiceField(THREAD_SORT_FIELDS, required=False, allow_null=True)
    sort_order = serializers.CharField(required=False, allow_null=True)
    select = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)
    extract = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, allow_null=True)

    def validate_sort_order(self, value: str | None) -> str | None:
        if value is not None and value.lower() not in SORT_ORDERS:
            raise serializers.ValidationError(f'"{value}" is not a valid choice; expected "asc" or "desc".')
        return value

    def validate_select(self, value: list[str] | None) -> list[str] | None:
        invalid = [c for c in value or [] if c not in THREAD_FIELDS]
        if invalid:
            raise serializers.ValidationError(f"Invalid select columns: {invalid}. Expected: {set(THREAD_FIELDS)}")
        return value or None

    def validate_extract(self, value: dict[str, str] | None) -> dict[str, str] | None:
        return _validated_extract(value) if value else None


def _validated_extract(extract: dict[str, str]) -> dict[str, str]:
    if len(extract) > MAX_EXTRACT_PATHS:
        raise serializers.ValidationError(f"Maximum of {MAX_EXTRACT_PATHS} extract paths allowed, got {len(extract)}")
    reserved = sorted(set(extract) & set(THREAD_FIELDS))
    if reserved:
        raise serializers.ValidationError(f"Extract keys cannot use reserved field names: {reserved}")
    for alias, path in extract.items():
        if not _ALIAS.match(alias):
            raise serializers.ValidationError(
                f"Extract key '{alias}' must be a valid identifier (letters, digits, underscores)"
            )
        if not path:
            raise serializers.ValidationError(f"Extract path for '{alias}' must be a non-empty string")
        if path.split(".")[0].split("[")[0] not in EXTRACTABLE_COLUMNS:
            raise serializers.ValidationError(
                f"Extract path '{path}' must start with one of: {', '.join(EXTRACTABLE_COLUMNS)}"
            )
    return extract


class ThreadPruneSerializer(serializers.Serializer):
    thread_ids = serializers.ListField(child=serializers.CharField())
    # Checked by threads.services.thread_prune, which answers the official detail.
    strategy = serializers.CharField(required=False, allow_null=True)


class CheckpointSerializer(serializers.Serializer):
    thread_id = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    checkpoint_ns = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    checkpoint_id = serializers.CharField(required=False, allow_null=True)
    checkpoint_map = _dict_field()


class StateCheckpointSerializer(serializers.Serializer):
    checkpoint = CheckpointSerializer()
    subgraphs = serializers.BooleanField(required=False, default=False)


class StateUpdateSerializer(serializers.Serializer):
    values = serializers.JSONField(required=False, allow_null=True)
    as_node = serializers.CharField(required=False, allow_null=True)
    checkpoint_id = serializers.CharField(required=False, allow_null=True)
    checkpoint = CheckpointSerializer(required=False, allow_null=True)

    def validate_values(self, value: Any) -> Any:
        if value is not None and not isinstance(value, (dict, list)):
            raise serializers.ValidationError("must be an object, a list of objects or null")
        return value


class HistorySerializer(serializers.Serializer):
    # Capped by THREAD_HISTORY_MAX_LIMIT in threads.selectors.thread_history_list, for GET and POST alike.
    limit = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    before = serializers.JSONField(required=False, allow_null=True)
    metadata = _dict_field()
    checkpoint = CheckpointSerializer(required=False, allow_null=True)


class ThreadResponseSerializer(serializers.Serializer):
    """Documents the Thread JSON in /openapi.json (responses are built by thread_to_dict)."""

    thread_id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    state_updated_at = serializers.DateTimeField()
    metadata = serializers.DictField()
    status = serializers.ChoiceField(THREAD_STATUSES)
    config = serializers.DictField()
    values = serializers.JSONField(allow_null=True)
    interrupts = serializers.DictField()
    error = serializers.DictField(allow_null=True)
    ttl = serializers.DictField(required=False, allow_null=True)
    extracted = serializers.DictField(required=False)


class ThreadStateResponseSerializer(serializers.Serializer):
    """Documents the ThreadState JSON in /openapi.json (responses are built by threads.state.snapshot_to_dict)."""

    values = serializers.JSONField()
    next = serializers.ListField(child=serializers.CharField())
    tasks = serializers.ListField(child=serializers.DictField())
    metadata = serializers.DictField(allow_null=True)
    created_at = serializers.CharField(allow_null=True)
    checkpoint = serializers.DictField(allow_null=True)
    parent_checkpoint = serializers.DictField(allow_null=True)
    interrupts = serializers.ListField(child=serializers.DictField())
    checkpoint_id = serializers.CharField(allow_null=True)
    parent_checkpoint_id = serializers.CharField(allow_null=True)


class StateUpdateResponseSerializer(serializers.Serializer):
    checkpoint = serializers.DictField()
    configurable = serializers.DictField()
    checkpoint_id = serializers.CharField()
