"""The official Run JSON (api-surface §2.2). Plain functions: the worker's webhooks use them too."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentplatform.errors import InvalidInput
from runs.models import Run

RUN_FIELDS = (
    "run_id",
    "thread_id",
    "assistant_id",
    "created_at",
    "updated_at",
    "status",
    "metadata",
    "kwargs",
    "multitask_strategy",
    "langsmith_session_name",
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def run_json(run: Run, select: list[str] | None = None) -> dict[str, Any]:
    data = {
        "run_id": str(run.run_id),
        "thread_id": str(run.thread_id),
        "assistant_id": str(run.assistant_id),
        "created_at": _iso(run.created_at),
        "updated_at": _iso(run.updated_at),
        "status": run.shown_status,
        "metadata": run.metadata,
        "kwargs": run.kwargs,
        "multitask_strategy": run.multitask_strategy,
        "langsmith_session_name": None,
    }
    return {k: data[k] for k in select} if select else data


def run_select_validate(select: list[str]) -> list[str]:
    for name in select:
        if name not in RUN_FIELDS:
            raise InvalidInput(f"Invalid select field '{name}'. Must be one of: {', '.join(RUN_FIELDS)}")
    return select
