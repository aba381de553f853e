"""`manage.py dockerfile`: the image of one project, as `langgraph dockerfile` writes the official one.

The result is deploy/Dockerfile (the one definition of the image) turned round to be built from the project's
folder, as `langgraph build` builds it, with this server's source as the named build context `agentplatform`:

    docker build -f Dockerfile --build-context agentplatform=/path/to/agentplatform -t my-agents .

so that what langgraph.json's build keys say happens where the official image does it:

- `python_version`: the default of `ARG PYTHON_VERSION` (`major.minor`, 3.11 or newer);
- `image_distro`: "debian" and "bookworm" are this image's Debian bookworm; "wolfi" is named in a note, and the
  image stays Debian (there is no Wolfi base for it);
- `pip_config_file`: copied to /pipconfig.txt and used (PIP_CONFIG_FILE) by every install, the server's too;
- `dockerfile_lines`: run after the server is installed and before the project's dependencies, as officially
  after the server's base image; their COPY and ADD read the project's folder, as officially;
- `keep_pkg_tools`: pip, setuptools and wheel are removed at the end unless kept (`true`, or a list of them).

`base_image`, `api_version` and `_INTERNAL_docker_tag` name official images and are named in a note instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agentplatform.langgraph_config import ConfigError

BUILD_TOOLS = ("pip", "setuptools", "wheel")
DISTROS = {"debian": "bookworm", "bookworm": "bookworm"}
SERVER_CONTEXT = "agentplatform"
MIN_PYTHON = (3, 11)
NOT_APPLIED = {
    "base_image": "its images are the official server; this one is built FROM python:<python_version>-slim",
    "api_version": "this server implements the API of langgraph-api 0.16",
    "_INTERNAL_docker_tag": "it names an official image",
}
# The lines of deploy/Dockerfile the rendering works from; a test checks that each is still there.
ANCHORS = {
    "python": re.compile(r"^ARG PYTHON_VERSION=\S+$"),
    "project": re.compile(r"^FROM scratch AS project$"),
    "base": re.compile(r"^FROM python:\$\{PYTHON_VERSION\}-slim-bookworm$"),
    "server": re.compile(r"^RUN pip install -r requirements.txt$"),
    "dependencies": re.compile(r"^COPY --from=project / /project/$"),
    "user": re.compile(r"^RUN useradd "),
}


@dataclass
class Rendered:
    text: str
    notes: list[str] = field(default_factory=list)  # build keys named but not applied


def _python_version(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    if not re.fullmatch(r"\d+\.\d+", text):
        raise ConfigError(f'python_version must be "major.minor" (e.g. "3.12"), got {value!r}.')
    if tuple(int(part) for part in text.split(".")) < MIN_PYTHON:
        raise ConfigError(f"python_version {text}: this server needs Python 3.11 or newer.")
    return text


def _dockerfile_lines(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(line, str) for line in value):
        raise ConfigError('dockerfile_lines must be a list of Dockerfile instructions, e.g. ["RUN apt-get ..."].')
    return value


def removed_tools(value: object) -> tuple[str, ...]:
    """The build tools the image removes for `keep_pkg_tools` (official values: absent, true, or a list)."""
    if not value:
        return BUILD_TOOLS
    if value is True:
        return ()
    if isinstance(value, list) and all(tool in BUILD_TOOLS for tool in value):
        return tuple(tool for tool in BUILD_TOOLS if tool not in value)
    raise ConfigError(f"keep_pkg_tools must be true or a list of {list(BUILD_TOOLS)}, got {value!r}.")


def _distro_notes(value: object) -> list[str]:
    if value is None or value in DISTROS:
        return []
    if value == "wolfi":
        return ["image_distro wolfi is not applied: this image is Debian bookworm (python:<version>-slim-bookworm)."]
    raise ConfigError(f"image_distro must be one of 'debian', 'bookworm', 'wolfi', got {value!r}.")


def _anchor(lines: list[str], name: str) -> int:
    for index, line in enumerate(lines):
        if ANCHORS[name].match(line):
            return index
    raise ConfigError(
        f"deploy/Dockerfile has no line matching {ANCHORS[name].pattern!r}: update agentplatform.dockerfile."
    )


def _header(config_name: str) -> list[str]:
    return [
        f"# The image of the project of {config_name}, rendered from agentplatform's deploy/Dockerfile by",
        "# `python manage.py dockerfile`. Build it from this folder, with agentplatform's source as a named context:",
        "#",
        f"#   docker build -f Dockerfile --build-context {SERVER_CONTEXT}=/path/to/agentplatform -t my-agents .",
        "#",
        "# Render it again after changing langgraph.json's python_version, pip_config_file, dockerfile_lines or",
        "# keep_pkg_tools. The build arguments of deploy/Dockerfile (EMBEDDINGS, TORCH_INDEX_URL) work here too.",
    ]


def _project_stage(lines: list[str]) -> list[str]:
    """The `project` stage copies this folder (the build context) instead of agentplatform's example."""
    start = _anchor(lines, "project")
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    first = start
    while first > 0 and lines[first - 1].startswith("#"):
        first -= 1
    stage = ["# The project: the folder this Dockerfile is built from.", lines[start], "COPY . /"]
    return [*lines[:first], *stage, *lines[end:]]


def _server_from_named_context(lines: list[str]) -> list[str]:
    """The server's own files come from the `agentplatform` context; the main context is the project."""
    base = _anchor(lines, "base")
    return [
        f"COPY --from={SERVER_CONTEXT} {line[len('COPY ') :]}"
        if index > base and line.startswith("COPY ") and "--from=" not in line
        else line
        for index, line in enumerate(lines)
    ]


def _insert_before(lines: list[str], anchor: str, inserted: list[str]) -> list[str]:
    """`inserted` before the anchor's line and the comment above it, which stays with its line."""
    at = _anchor(lines, anchor)
    while at > 0 and lines[at - 1].startswith("#"):
        at -= 1
    return [*lines[:at], *inserted, *lines[at:]]


def _pip_config(path: object) -> list[str]:
    if not path:
        return []
    text = str(path).removeprefix("./")
    if text.startswith(("/", "../")) or "/../" in text:
        raise ConfigError(f"pip_config_file {path!r} must be inside the project's folder (the image's build context).")
    return [
        "# langgraph.json pip_config_file: every install below uses it, the server's own packages too.",
        f"COPY {text} /pipconfig.txt",
        "ENV PIP_CONFIG_FILE=/pipconfig.txt",
    ]


def render_dockerfile(template: str, data: dict, *, config_name: str = "langgraph.json") -> Rendered:
    """deploy/Dockerfile (`template`) rendered for the langgraph.json object `data`; a ConfigError says what to fix."""
    python = _python_version(data.get("python_version"))
    user_lines = _dockerfile_lines(data.get("dockerfile_lines"))
    removed = removed_tools(data.get("keep_pkg_tools"))
    notes = _distro_notes(data.get("image_distro"))
    notes += [f"{key} is not applied: {why}." for key, why in NOT_APPLIED.items() if data.get(key)]
    lines = template.splitlines()
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    lines = _server_from_named_context(_project_stage(lines))
    if python is not None:
        lines[_anchor(lines, "python")] = f"ARG PYTHON_VERSION={python}"
    lines = _insert_before(lines, "server", _pip_config(data.get("pip_config_file")))
    if user_lines:
        lines = _insert_before(lines, "dependencies", ["# langgraph.json dockerfile_lines", *user_lines])
    if removed:
        uninstall = f"RUN python -m pip uninstall -y {' '.join(removed)}"
        lines = _insert_before(
            lines, "user", ["# Build tools out of the final image (langgraph.json keep_pkg_tools)", uninstall]
        )
    return Rendered("\n".join([*_header(config_name), *lines]) + "\n", notes)
