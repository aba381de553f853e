"""`manage.py dockerfile` renders deploy/Dockerfile for one project as `langgraph dockerfile` writes the official
image's: built from the project's folder, with the build keys of its langgraph.json applied where the official
image applies them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from agentplatform.dockerfile import ANCHORS, removed_tools, render_dockerfile
from agentplatform.langgraph_config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = (ROOT / "deploy" / "Dockerfile").read_text()


def _lines(**data) -> list[str]:
    return render_dockerfile(TEMPLATE, data).text.splitlines()


def _after(lines: list[str], line: str) -> list[str]:
    return lines[lines.index(line) + 1 :]


@pytest.mark.parametrize("anchor", sorted(ANCHORS))
def test_every_line_the_rendering_works_from_is_in_deploy_dockerfile(anchor):
    assert any(ANCHORS[anchor].match(line) for line in TEMPLATE.splitlines()), ANCHORS[anchor].pattern


def test_the_image_is_built_from_the_projects_folder_with_the_server_as_a_named_context():
    lines = _lines()
    assert lines[lines.index("FROM scratch AS project") + 1] == "COPY . /"
    server_copies = [line for line in _after(lines, "FROM python:${PYTHON_VERSION}-slim-bookworm") if "COPY" in line]
    assert server_copies == [
        "COPY --from=agentplatform requirements.txt requirements-embeddings.txt requirements-otel.txt ./",
        "COPY --from=agentplatform . .",
        "COPY --from=project / /project/",
    ]
    assert "RUN python manage.py install_dependencies --config /project/langgraph.json" in lines
    assert "docker build -f Dockerfile --build-context agentplatform=" in lines[3]


def test_python_version_is_the_default_of_the_build_argument():
    assert "ARG PYTHON_VERSION=3.12" in _lines(python_version="3.12")
    assert "ARG PYTHON_VERSION=3.11" in _lines()


def test_dockerfile_lines_run_after_the_server_and_before_the_projects_dependencies():
    lines = _lines(dockerfile_lines=["RUN apt-get update && apt-get install -y libmagic1", "COPY ./config /config"])
    at = lines.index("RUN apt-get update && apt-get install -y libmagic1")
    assert lines.index("COPY --from=agentplatform . .") < at
    assert lines[at + 1] == "COPY ./config /config"  # read from the project's folder, as officially
    assert at + 1 < lines.index("COPY --from=project / /project/")


def test_pip_config_file_is_used_by_every_install_the_servers_included():
    lines = _lines(pip_config_file="./pip.conf")
    assert lines.index("COPY pip.conf /pipconfig.txt") < lines.index("ENV PIP_CONFIG_FILE=/pipconfig.txt")
    assert lines.index("ENV PIP_CONFIG_FILE=/pipconfig.txt") < lines.index("RUN pip install -r requirements.txt")
    assert not any("pipconfig" in line for line in _lines())


def test_build_tools_are_removed_at_the_end_unless_kept():
    assert removed_tools(None) == ("pip", "setuptools", "wheel")
    assert removed_tools(True) == ()
    assert removed_tools(["pip"]) == ("setuptools", "wheel")
    lines = _lines(keep_pkg_tools=["pip"])
    uninstall = "RUN python -m pip uninstall -y setuptools wheel"
    assert lines.index(uninstall) > lines.index(
        "RUN python manage.py install_dependencies --config /project/langgraph.json"
    )
    assert lines.index(uninstall) < next(i for i, line in enumerate(lines) if line.startswith("RUN useradd"))
    assert not any("uninstall" in line for line in _lines(keep_pkg_tools=True))


def test_keys_naming_official_images_are_noted_not_applied():
    rendered = render_dockerfile(TEMPLATE, {"image_distro": "wolfi", "base_image": "langchain/langgraph-server"})
    assert [note.split(" ")[0] for note in rendered.notes] == ["image_distro", "base_image"]
    assert "FROM python:${PYTHON_VERSION}-slim-bookworm" in rendered.text.splitlines()
    assert render_dockerfile(TEMPLATE, {"image_distro": "bookworm"}).notes == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"python_version": "3.10"}, "needs Python 3.11 or newer"),
        ({"python_version": "3.12.1"}, "major.minor"),
        ({"dockerfile_lines": "RUN x"}, "list of Dockerfile instructions"),
        ({"keep_pkg_tools": ["uv"]}, "keep_pkg_tools must be true or a list"),
        ({"image_distro": "bullseye"}, "image_distro must be one of"),
        ({"pip_config_file": "../pip.conf"}, "inside the project's folder"),
    ],
)
def test_a_build_key_it_cannot_apply_says_what_to_fix(data, message):
    with pytest.raises(ConfigError, match=message):
        render_dockerfile(TEMPLATE, data)


def test_the_command_writes_the_dockerfile_of_a_project(tmp_path):
    config = tmp_path / "langgraph.json"
    data = {"graphs": {"g": "./g.py:graph"}, "python_version": "3.12", "dockerfile_lines": ["ENV A=1"]}
    config.write_text(json.dumps(data))
    call_command("dockerfile", str(tmp_path / "Dockerfile"), config=str(config))
    written = (tmp_path / "Dockerfile").read_text().splitlines()
    assert "ARG PYTHON_VERSION=3.12" in written and "ENV A=1" in written
