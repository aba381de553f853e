"""Every key of the official langgraph.json schema, and what agentplatform does with it.

SUPPORTED keys act as on the official server. BUILD keys describe how to install the project or build its image:
`manage.py install_dependencies` (which the image runs) and `manage.py dockerfile` (the project's Dockerfile) read
them, the running server has no use for them. REFUSED
keys stop start-up with a message naming the key, and so does an unknown key (a typo would otherwise be lost).
docs/compatibility.md lists the same table with the reasons.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class KeyStatus(StrEnum):
    SUPPORTED = "supported"
    BUILD = "build"
    REFUSED = "refused"


@dataclass(frozen=True)
class Key:
    status: KeyStatus
    reason: str = ""  # for a refused key: why, and what to do instead
    children: dict[str, Key] | None = None  # known nested keys; None: the value is not checked further
    only_values: tuple = ()  # a supported key whose other values are refused (e.g. checkpointer.backend)


def _supported(children: dict[str, Key] | None = None) -> Key:
    return Key(KeyStatus.SUPPORTED, children=children)


def _refused(reason: str) -> Key:
    return Key(KeyStatus.REFUSED, reason)


_S, _B = _supported(), Key(KeyStatus.BUILD)
_NO_JS = "JavaScript graphs and UIs are not supported: only Python graphs run here."
_HEADER_PATTERNS = {"includes": _S, "excludes": _S, "include": _S, "exclude": _S}

SCHEMA: dict[str, Key] = {
    "$schema": _S,  # the editor's JSON schema; nothing to do
    "graphs": _S,  # entries are checked by agentplatform.langgraph_config (string or {path, description})
    "env": _S,
    "dependencies": _B,
    "python_version": _B,
    "pip_config_file": _B,
    "pip_installer": _B,
    "keep_pkg_tools": _B,
    "dockerfile_lines": _B,
    "base_image": _B,
    "image_distro": _B,
    "api_version": _B,
    "_INTERNAL_docker_tag": _B,
    "source": _refused(
        "uv-project deployments (source.kind = uv) are not supported: list the project in `dependencies` "
        '(e.g. ["."]) instead.'
    ),
    "project_root": _refused("The official CLI no longer supports it either: use `dependencies`."),
    "package": _refused("The official CLI no longer supports it either: use `dependencies`."),
    "node_version": _refused(_NO_JS),
    "ui": _refused(_NO_JS),
    "ui_config": _refused(_NO_JS),
    "encryption": _refused("Custom at-rest encryption (encryption.path) is not supported: remove the section."),
    "priority": _refused("Custom run priorities (priority.path) are not supported: remove the section."),
    "store": _supported(
        {
            "index": _supported({"dims": _S, "embed": _S, "fields": _S, "distance_type": _S, "ann_index_config": _S}),
            "ttl": _supported({"default_ttl": _S, "refresh_on_read": _S, "sweep_interval_minutes": _S}),
            "path": _refused(
                "A custom store is not supported: graphs and the Store API use the built-in Postgres store. "
                "Remove store.path."
            ),
        }
    ),
    "checkpointer": _supported(
        {
            "ttl": _supported({"strategy": _S, "default_ttl": _S, "sweep_interval_minutes": _S, "sweep_limit": _S}),
            "backend": Key(KeyStatus.SUPPORTED, only_values=("default",)),
            "path": _refused(
                "A custom checkpointer is not supported: runs are checkpointed in this server's Postgres. "
                "Remove checkpointer.path."
            ),
            "uri": _refused("The MongoDB checkpointer is not supported: remove checkpointer.uri."),
            "serde": _refused(
                "Serializer options are not supported yet: checkpoints use LangGraph's JsonPlusSerializer "
                "defaults. Remove checkpointer.serde."
            ),
        }
    ),
    "auth": _supported(
        {
            "path": _S,
            "disable_studio_auth": _S,
            "openapi": _S,
            "cache": _S,
            "allow_langsmith_api_keys": _refused(
                "LangSmith API keys are not verified here (no LangSmith): remove auth.allow_langsmith_api_keys, "
                "or use the built-in API keys (AGENTPLATFORM_API_KEYS)."
            ),
        }
    ),
    "http": _supported(
        {
            "app": _S,
            "cors": _S,
            "configurable_headers": _supported(_HEADER_PATTERNS),
            "logging_headers": _refused(
                "Request headers are never logged here, so logging_headers has nothing to allow: remove it."
            ),
            "middleware_order": _S,
            "enable_custom_route_auth": _S,
            "mount_prefix": _S,
            **{
                f"disable_{name}": _S
                for name in ("assistants", "threads", "runs", "store", "meta", "webhooks", "ui", "mcp", "a2a")
            },
        }
    ),
    "webhooks": _supported(
        {
            "env_prefix": _S,
            "headers": _S,
            "allowed_fields": _S,
            "url": _supported(
                {
                    "require_https": _S,
                    "allowed_domains": _S,
                    "allowed_ports": _S,
                    "max_url_length": _S,
                    "disable_loopback": _S,
                    "disable_private_ips": _S,
                }
            ),
        }
    ),
}


@dataclass(frozen=True)
class KeyProblem:
    key: str  # dotted, e.g. "checkpointer.serde"
    message: str


@dataclass
class _Walk:
    problems: list[KeyProblem] = field(default_factory=list)

    def section(self, data: dict, schema: dict[str, Key], prefix: str) -> None:
        for name, value in data.items():
            dotted = f"{prefix}{name}"
            key = schema.get(name)
            if key is None:
                self.problems.append(KeyProblem(dotted, _unknown(dotted, name, schema)))
            elif key.status is KeyStatus.REFUSED:
                self.problems.append(KeyProblem(dotted, f"langgraph.json: '{dotted}' is not supported. {key.reason}"))
            elif key.only_values and value not in key.only_values:
                allowed = ", ".join(repr(v) for v in key.only_values)
                self.problems.append(KeyProblem(dotted, f"langgraph.json: '{dotted}' can only be {allowed} here."))
            elif key.children is not None and isinstance(value, dict):
                self.section(value, key.children, f"{dotted}.")


def _unknown(dotted: str, name: str, schema: dict[str, Key]) -> str:
    close = difflib.get_close_matches(name, list(schema), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else " Remove it."
    return f"langgraph.json: '{dotted}' is not a key of the langgraph.json schema.{hint}"


def key_problems(data: dict[str, Any]) -> list[KeyProblem]:
    """The refused and unknown keys of a langgraph.json object, in file order (empty when all is usable)."""
    walk = _Walk()
    walk.section(data, SCHEMA, "")
    return walk.problems


def key_status(dotted: str) -> KeyStatus | None:
    """The status of a dotted key ("http.cors"); None when the schema has no such key."""
    schema: dict[str, Key] | None = SCHEMA
    key = None
    for part in dotted.split("."):
        if schema is None or part not in schema:
            return None
        key = schema[part]
        schema = key.children
    return key.status if key else None
