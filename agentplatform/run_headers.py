"""Which request headers a run sees in `config["configurable"]`, as on the official server.

A header is copied only when it matches an `includes` pattern of `http.configurable_headers` in langgraph.json
and no `excludes` pattern (`include`/`exclude` are accepted aliases); with no patterns, none is. Credentials
(`authorization`, `x-api-key`, `x-service-key`, `x-tenant-id`) are never copied, whatever the patterns say.
LangSmith's tracing headers (`langsmith-trace`, and the `langsmith-metadata`/`-tags`/`-project` entries of its
`baggage`) always are. Patterns are literal names with `*` wildcards, matched against lower-cased names.
A run also gets `langgraph_request_id`: the request's `x-request-id` (the API edge makes one up when absent).
Runs, state reads and updates, and the schema and graph endpoints all copy headers the same way.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings

from agentplatform.langgraph_config import ConfigError, load_config
from agentplatform.lazy import PerProcess
from agentplatform.telemetry import tracing

logger = logging.getLogger(__name__)

NEVER_COPIED = frozenset({"authorization", "x-api-key", "x-service-key", "x-tenant-id"})
TRACE_HEADER = "langsmith-trace"
REQUEST_ID_HEADER = "x-request-id"
_BAGGAGE_KEYS = ("langsmith-metadata", "langsmith-tags", "langsmith-project")


def _pattern(text: str) -> re.Pattern[str]:
    # Only `*` is special: a user's pattern can never become an expensive regular expression.
    return re.compile("(?s:" + ".*".join(re.escape(part) for part in text.lower().split("*")) + r")\Z")


@dataclass(frozen=True)
class HeaderPatterns:
    includes: tuple[re.Pattern[str], ...] = ()
    excludes: tuple[re.Pattern[str], ...] = ()

    def admits(self, name: str) -> bool:
        if name in NEVER_COPIED or any(p.match(name) for p in self.excludes):
            return False
        return any(p.match(name) for p in self.includes)


def _patterns(section: dict, plural: str) -> tuple[re.Pattern[str], ...]:
    singular = plural.removesuffix("s")
    values = section.get(plural) or section.get(singular) or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f'http.configurable_headers.{plural} must be a list of header names, e.g. ["x-user-id"].')
    return tuple(_pattern(v) for v in values)


def parse_header_patterns(section: object) -> HeaderPatterns:
    """`http.configurable_headers` validated (None or {} copies nothing but the tracing headers)."""
    if section is None:
        return HeaderPatterns()
    if not isinstance(section, dict):
        raise ConfigError('http.configurable_headers must be an object like {"includes": ["x-user-id"]}.')
    return HeaderPatterns(_patterns(section, "includes"), _patterns(section, "excludes"))


def _baggage(value: str) -> dict:
    found: dict = {}
    for item in value.split(","):
        key, sep, raw = item.partition("=")
        if not sep or key not in _BAGGAGE_KEYS:
            continue
        text = urllib.parse.unquote(raw)
        if key == "langsmith-tags":
            found[key] = text.split(",")
        elif key == "langsmith-project":
            found[key] = text
        elif key not in found:  # the first metadata entry wins, the last tags or project
            try:
                metadata = json.loads(text)
            except ValueError:
                metadata = None
            if isinstance(metadata, dict):
                found[key] = metadata
            else:
                logger.warning("ignoring malformed langsmith-metadata in the baggage header")
    return found


def configurable_headers(headers: Mapping[str, str], patterns: HeaderPatterns) -> dict:
    """The configurable entries `headers` (lower-case names) give a graph."""
    copied: dict = {}
    for name, value in headers.items():
        if name == TRACE_HEADER:
            copied[name] = value
            copied.update(_baggage(headers.get("baggage", "")))
        elif patterns.admits(name):
            copied[name] = value
    return copied


def _configured_patterns() -> HeaderPatterns:
    return parse_header_patterns(load_config(settings.LANGGRAPH_CONFIG).http.get("configurable_headers"))


_patterns_once: PerProcess[HeaderPatterns] = PerProcess(_configured_patterns)


def header_patterns() -> HeaderPatterns:
    """The patterns of this process's langgraph.json, read once."""
    return _patterns_once.get()


def request_configurable(headers: Mapping[str, str] | None) -> dict:
    """What a graph built for a request with `headers` (state reads and updates, schemas) gets in its configurable."""
    return configurable_headers(headers or {}, header_patterns())


def run_configurable_headers(headers: Mapping[str, str] | None) -> dict:
    """What a run created with the request `headers` gets in its configurable (a cron's runs: no request); with
    tracing on, also the request's trace context, for the worker to continue (agentplatform.telemetry.tracing)."""
    configurable = {**request_configurable(headers), "langgraph_request_id": (headers or {}).get(REQUEST_ID_HEADER)}
    tracing.inject(configurable)
    return configurable
