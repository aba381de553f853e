"""What `manage.py install_dependencies` runs to install a langgraph.json's `dependencies`, as `langgraph build`
installs them into the official image.

- a name or URL ("anthropic", "git+https://...") is installed from the package index;
- a local directory ("." or "./my_pkg", relative to langgraph.json) with a pyproject.toml or setup.py is
  installed as a package (editable); one without is put on the import path at start-up (flat layout: the folder
  is the package; otherwise its contents are), and its requirements.txt, if any, is installed.

Everything is installed with this server's requirements.txt as constraints, as the official image installs with
its own, so a project's packages cannot move the versions the server runs on. `pip_config_file` and
`pip_installer` ("auto", "pip", "uv") are honoured; the keys about the image are named in the plan's notes
(`manage.py dockerfile`, agentplatform.dockerfile, applies those that apply to this server's image).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from agentplatform.langgraph_config import ConfigError

INSTALLERS = ("auto", "pip", "uv")
# Keys about the official image that have no meaning for this server's image, and why.
IMAGE_KEYS = {
    "dockerfile_lines": "Docker instructions run in an image build: `python manage.py dockerfile` renders the "
    "project's Dockerfile, which runs them",
    "keep_pkg_tools": "the image `python manage.py dockerfile` renders removes the build tools unless kept",
    "base_image": "this server's image is built FROM python:<python_version>-slim-bookworm",
    "image_distro": "this server's image is Debian (bookworm)",
    "api_version": "this server implements the API of langgraph-api 0.16",
    "_INTERNAL_docker_tag": "this server's image is built from deploy/Dockerfile",
}


@dataclass(frozen=True)
class InstallPlan:
    commands: list[list[str]] = field(default_factory=list)
    cwd: Path | None = None  # the folder of langgraph.json: relative paths in requirements files start there
    env: dict[str, str] = field(default_factory=dict)  # added to the environment of every command
    notes: list[str] = field(default_factory=list)  # build keys named but not applied


def _installer(name: object, python: str, uv: str | None) -> list[str]:
    if name not in INSTALLERS:
        raise ConfigError(f"pip_installer must be one of {', '.join(INSTALLERS)}, got {name!r}.")
    if name == "uv" and uv is None:
        raise ConfigError('pip_installer is "uv", but no uv is on the PATH: install uv or use "pip".')
    if name == "pip" or uv is None:
        return [python, "-m", "pip", "install"]
    return [uv, "pip", "install", "--python", python]


def _check_python_version(wanted: object, running: str) -> None:
    if wanted is not None and str(wanted) != running:
        raise ConfigError(
            f"python_version is {wanted}, but this environment runs Python {running}: build the image with "
            f"--build-arg PYTHON_VERSION={wanted} (deploy/Dockerfile), or install into a Python {wanted} environment."
        )


def _local(dependency: str, base_dir: Path) -> tuple[str, Path]:
    """("package", dir) or ("requirements", file) or ("path", dir) for a local dependency."""
    folder = (base_dir / dependency).resolve()
    if not folder.is_dir():
        raise ConfigError(f"dependencies: {dependency} ({folder}) is not a directory; fix the path in langgraph.json.")
    if (folder / "pyproject.toml").is_file() or (folder / "setup.py").is_file():
        return "package", folder
    if (folder / "requirements.txt").is_file():
        return "requirements", folder / "requirements.txt"
    return "path", folder


def install_plan(
    config_path: Path,
    data: dict,
    *,
    python: str = sys.executable,
    uv: str | None = None,
    constraints: Path | None = None,
    running_python: str = f"{sys.version_info.major}.{sys.version_info.minor}",
) -> InstallPlan:
    """The commands that install `data`'s dependencies (a langgraph.json object read from `config_path`)."""
    base_dir = config_path.resolve().parent
    _check_python_version(data.get("python_version"), running_python)
    install = _installer(data.get("pip_installer") or "auto", python, uv)
    if constraints is not None:
        install = [*install, "-c", str(constraints)]
    dependencies = data.get("dependencies") or []
    index = [dep for dep in dependencies if not dep.startswith(".")]
    local = [_local(dep, base_dir) for dep in dependencies if dep.startswith(".")]
    commands = [[*install, *index]] if index else []
    commands += [[*install, "-r", str(path)] for kind, path in local if kind == "requirements"]
    commands += [[*install, "-e", str(path)] for kind, path in local if kind == "package"]
    env = {}
    if data.get("pip_config_file"):
        pip_config = (base_dir / data["pip_config_file"]).resolve()
        if not pip_config.is_file():
            raise ConfigError(f"pip_config_file names {pip_config}, which does not exist.")
        env["PIP_CONFIG_FILE"] = str(pip_config)
    notes = [f"{key} is not applied: {why}." for key, why in IMAGE_KEYS.items() if data.get(key)]
    return InstallPlan(commands, base_dir, env, notes)


def find_uv() -> str | None:
    return shutil.which("uv", path=os.environ.get("PATH"))
