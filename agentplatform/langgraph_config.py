"""Parse `langgraph.json` (the official CLI format) into a typed, validated object.

A key the server does not support, or one the schema does not have, stops the parse with a message naming it
(agentplatform.langgraph_keys): nothing in the file is ignored silently.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from agentplatform.langgraph_keys import key_problems


class ConfigError(Exception):
    """The langgraph.json file (or a graph it names) is unusable; the message says how to fix it."""


@dataclass(frozen=True)
class GraphSpec:
    graph_id: str
    target: str  # "./path/file.py:attr" or "package.module:attr"
    description: str | None = None


@dataclass(frozen=True)
class LangGraphConfig:
    path: Path
    graphs: dict[str, GraphSpec]
    env: dict[str, str] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    store: dict = field(default_factory=dict)
    checkpointer: dict = field(default_factory=dict)
    http: dict = field(default_factory=dict)
    auth: dict | None = None
    webhooks: dict = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def thread_ttl(self) -> dict:
        """The default thread TTL: LANGGRAPH_THREAD_TTL (minutes, or a JSON object), as on the official server,
        else `checkpointer.ttl`."""
        return thread_ttl_from_env(os.environ.get("LANGGRAPH_THREAD_TTL")) or self.checkpointer.get("ttl") or {}


def thread_ttl_from_env(value: str | None) -> dict | None:
    """LANGGRAPH_THREAD_TTL: "60" (delete after 60 minutes) or '{"strategy": "keep_latest", "default_ttl": 60}'."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = json.loads(text) if text.startswith("{") else {"strategy": "delete", "default_ttl": float(text)}
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ConfigError(f"LANGGRAPH_THREAD_TTL must be a number of minutes or a JSON object, got {value!r}.")
    return parsed


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.removeprefix("export ").split("=", 1)
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _parse_env(raw: object, base_dir: Path) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    if isinstance(raw, str):
        env_path = (base_dir / raw).resolve()
        if not env_path.is_file():
            raise ConfigError(f"'env' names {raw}, but {env_path} does not exist: create it or remove 'env'.")
        return _read_env_file(env_path)
    raise ConfigError("'env' must be an object of variables or the path of a .env file.")


def _parse_graphs(raw: object) -> dict[str, GraphSpec]:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError('\'graphs\' must be a non-empty object, e.g. {"agent": "./agent.py:graph"}.')
    graphs = {}
    for graph_id, value in raw.items():
        description = None
        if isinstance(value, dict):
            _check_graph_keys(graph_id, value)
            description = value.get("description")
            value = value.get("path")
        if not isinstance(value, str) or ":" not in value:
            raise ConfigError(
                f'Graph \'{graph_id}\': expected "./file.py:attribute" or "package.module:attribute", got {value!r}.'
            )
        graphs[graph_id] = GraphSpec(graph_id=graph_id, target=value, description=description)
    return graphs


GRAPH_ENTRY_KEYS = ("path", "description")


def _check_graph_keys(graph_id: str, entry: dict) -> None:
    # The official server reads these two and drops the rest without a word; here a stray key is named.
    stray = [key for key in entry if key not in GRAPH_ENTRY_KEYS]
    if stray:
        raise ConfigError(
            f"Graph '{graph_id}': {', '.join(repr(k) for k in stray)} is not a key of a graph entry, which takes "
            '"path" and "description" only, e.g. {"path": "./agent.py:graph", "description": "..."}.'
        )


def _section(data: dict, key: str) -> dict:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"'{key}' must be an object.")
    return value


def load_config(path: str | os.PathLike) -> LangGraphConfig:
    config_path = Path(path).resolve()
    if not config_path.is_file():
        raise ConfigError(
            f"No langgraph.json at {config_path}: set LANGGRAPH_CONFIG to the path of your langgraph.json."
        )
    try:
        data = json.loads(config_path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{config_path} is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{config_path} must contain a JSON object.")
    problems = key_problems(data)
    if problems:
        raise ConfigError(" ".join(problem.message for problem in problems) + f" ({config_path})")
    deps = data.get("dependencies") or []
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise ConfigError("'dependencies' must be a list of strings.")
    return LangGraphConfig(
        path=config_path,
        graphs=_parse_graphs(data.get("graphs")),
        env=_parse_env(data.get("env"), config_path.parent),
        dependencies=deps,
        store=_section(data, "store"),
        checkpointer=_section(data, "checkpointer"),
        http=_section(data, "http"),
        auth=data.get("auth"),
        # Its header templates are filled by runs.engine.webhooks, at start-up (the one owner of that section).
        webhooks=_section(data, "webhooks"),
    )


def apply_environment(config: LangGraphConfig) -> None:
    """Export `env` (variables already set win) and put local dependencies on the import path: a folder with an
    __init__.py is importable by its name (its parent goes on the path), any other folder's contents are, as in
    the official image."""
    for key, value in config.env.items():
        os.environ.setdefault(key, value)
    paths = [config.base_dir]
    for dep in config.dependencies:
        if dep.startswith((".", "/")):
            folder = (config.base_dir / dep).resolve()
            paths += [folder.parent, folder] if (folder / "__init__.py").is_file() else [folder]
    for path in paths:
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def import_target_module(target_path: str, base_dir: Path, *, what: str, module_name: str):
    """Import the module part of a langgraph.json target: a file path ("./dir/file.py", relative to the config
    file) or a dotted module name ("package.module"). `what` names the entry in error messages."""
    if "/" not in target_path and not target_path.endswith(".py"):
        return importlib.import_module(target_path)
    file_path = (base_dir / target_path).resolve()
    if not file_path.is_file():
        raise ConfigError(f"{what}: {file_path} does not exist; fix the path in langgraph.json.")
    name = f"{module_name}_{abs(hash(str(file_path)))}"
    spec = importlib.util.spec_from_file_location(name, file_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def import_target(target: str, base_dir: Path, *, what: str, module_name: str) -> object | None:
    """The object a "module:attribute" target names, or None when the module has no such attribute; a module
    that fails to import is a ConfigError naming `what`, the module and the failure."""
    module_path, _, attr = target.rpartition(":")
    try:
        module = import_target_module(module_path, base_dir, what=what, module_name=module_name)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"{what}: importing {module_path} failed with {type(exc).__name__}: {exc}. "
            "Fix the error in that module or install what it imports."
        ) from exc
    return getattr(module, attr, None)


def sweep_interval_seconds(path: str | os.PathLike, section: str) -> float | None:
    """`<section>.ttl.sweep_interval_minutes` in seconds, read early (for the beat schedule in settings); None
    when absent or when the file is unusable, which start-up reports with the fix."""
    try:
        ttl = (json.loads(Path(path).read_text()).get(section) or {}).get("ttl") or {}
        minutes = ttl.get("sweep_interval_minutes")
    except (OSError, ValueError, AttributeError):
        return None
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes <= 0:
        return None
    return float(minutes) * 60
