"""Log records as one JSON object a line (LOG_JSON=true, or LOG_FORMAT=json), each with the fields of its request
or run (agentplatform.telemetry.context); text stays the default, for people reading a terminal.

Keys follow the official server's JSON logs: `timestamp`, `level`, `logger`, `event` (the message), the context
fields, `langgraph_node` inside a graph node, `exc_info` with the traceback. Settings build the LOGGING dict here
(`logging_config`); nothing imports Django.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from agentplatform.telemetry.context import log_context

_NODE_KEY = "langgraph_node"


def _langgraph_node() -> str | None:
    """The graph node whose code logs, from the config LangChain keeps in a context variable."""
    try:
        from langchain_core.runnables.config import var_child_runnable_config
    except ImportError:  # pragma: no cover - langchain_core is a dependency of langgraph
        return None
    config = var_child_runnable_config.get() or {}
    return (config.get("metadata") or {}).get(_NODE_KEY)


class ContextFilter(logging.Filter):
    """Copies the context fields onto the record (as `record.context`), whatever the formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "context"):
            record.context = log_context()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **(getattr(record, "context", None) or log_context()),
        }
        if (node := _langgraph_node()) is not None:
            entry[_NODE_KEY] = node
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def logging_config(*, level: str, json_lines: bool) -> dict:
    """Django's LOGGING: one console handler, JSON or plain text, with the context filter either way."""
    formatter = {"()": f"{__name__}.JsonFormatter"} if json_lines else {"format": PLAIN_FORMAT}
    quiet_unless_debug = "DEBUG" if level == "DEBUG" else "WARNING"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": f"{__name__}.ContextFilter"}},
        "formatters": {"default": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "default", "filters": ["context"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.request": {"level": "ERROR"},
            "daphne": {"level": "WARNING"},
            # Celery's two lines per task (received, succeeded) name its message ids, and the worker logs each
            # run's ending with the run id (runs.engine.worker): at INFO they would triple the lines of every run.
            "celery.worker.strategy": {"level": quiet_unless_debug},
            "celery.app.trace": {"level": quiet_unless_debug},
        },
    }


PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
