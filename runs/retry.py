"""Trying a run again: the run-create body that asks for the same run as the one stored (same assistant, input,
command, config, context, checkpoint and options), for `runs.services.run_create`."""

from __future__ import annotations

from typing import Any

from runs.models import Run

# kwargs fields that are run-create body fields of the same name.
SAME_FIELDS = (
    "input",
    "command",
    "stream_mode",
    "interrupt_before",
    "interrupt_after",
    "webhook",
    "feedback_keys",
    "subgraphs",
    "checkpoint_during",
    "durability",
)
CHECKPOINT_KEYS = ("checkpoint_id", "checkpoint_ns", "checkpoint_map")


def retry_payload(run: Run) -> dict[str, Any]:
    """The body of a new run like `run`. run_create stamps the new run's ids again and drops reserved keys.

    kwargs.config.configurable already mirrors the context (run creation merges one into the other), so the
    body sends configurable alone: sending both is refused.
    """
    kwargs = run.kwargs or {}
    config = dict(kwargs.get("config") or {})
    configurable = dict(config.get("configurable") or {})
    checkpoint = {key: configurable.pop(key) for key in CHECKPOINT_KEYS if key in configurable}
    config["configurable"] = configurable
    if not configurable:
        config.pop("configurable")
    payload = {key: kwargs[key] for key in SAME_FIELDS if kwargs.get(key) is not None}
    payload |= {"assistant_id": str(run.assistant_id), "config": config, "metadata": run.metadata or {}}
    if not configurable and kwargs.get("context"):
        payload["context"] = kwargs["context"]
    if checkpoint.get("checkpoint_id"):
        payload["checkpoint"] = checkpoint
    if run.multitask_strategy:
        payload["multitask_strategy"] = run.multitask_strategy
    return payload
