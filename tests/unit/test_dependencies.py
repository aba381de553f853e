"""The commands install_dependencies runs for a langgraph.json, as `langgraph build` installs the same project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentplatform.dependencies import install_plan
from agentplatform.langgraph_config import ConfigError

PIP = ["/py", "-m", "pip", "install", "-c", "/srv/requirements.txt"]


def _plan(tmp_path: Path, uv: str | None = None, **data):
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": {"g": "./g.py:graph"}, **data}))
    return install_plan(
        config, data, python="/py", uv=uv, constraints=Path("/srv/requirements.txt"), running_python="3.11"
    )


def test_index_packages_install_in_one_command_with_the_servers_pins_as_constraints(tmp_path):
    plan = _plan(tmp_path, dependencies=["anthropic", "git+https://github.com/org/repo.git@main"])
    assert plan.commands == [[*PIP, "anthropic", "git+https://github.com/org/repo.git@main"]]


def test_local_package_is_installed_editable_and_a_plain_folder_gives_its_requirements(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "pyproject.toml").write_text("[project]\nname='pkg'\n")
    (tmp_path / "requirements.txt").write_text("six\n")
    (tmp_path / "plain").mkdir()
    plan = _plan(tmp_path, dependencies=[".", "./pkg", "./plain"])
    assert plan.commands == [
        [*PIP, "-r", str(tmp_path / "requirements.txt")],
        [*PIP, "-e", str(tmp_path / "pkg")],
    ]
    assert plan.cwd == tmp_path


def test_a_missing_local_dependency_names_it(tmp_path):
    with pytest.raises(ConfigError, match=r"dependencies: \./nope .* is not a directory"):
        _plan(tmp_path, dependencies=["./nope"])


def test_uv_is_used_when_asked_or_found(tmp_path):
    assert _plan(tmp_path, uv="/bin/uv", dependencies=["six"]).commands[0][:5] == [
        "/bin/uv",
        "pip",
        "install",
        "--python",
        "/py",
    ]
    assert _plan(tmp_path, uv="/bin/uv", pip_installer="pip", dependencies=["six"]).commands[0][:2] == ["/py", "-m"]
    with pytest.raises(ConfigError, match="no uv is on the PATH"):
        _plan(tmp_path, pip_installer="uv", dependencies=["six"])
    with pytest.raises(ConfigError, match="pip_installer must be one of"):
        _plan(tmp_path, pip_installer="poetry")


def test_pip_config_file_is_given_to_every_command(tmp_path):
    (tmp_path / "pip.conf").write_text("[global]\n")
    assert _plan(tmp_path, pip_config_file="pip.conf").env == {"PIP_CONFIG_FILE": str(tmp_path / "pip.conf")}
    with pytest.raises(ConfigError, match="pip_config_file names"):
        _plan(tmp_path, pip_config_file="missing.conf")


def test_another_python_version_is_refused_with_the_build_arg_to_use(tmp_path):
    with pytest.raises(ConfigError, match=r"--build-arg PYTHON_VERSION=3\.12"):
        _plan(tmp_path, python_version="3.12")


def test_keys_about_the_official_image_are_named_not_applied(tmp_path):
    notes = _plan(tmp_path, dockerfile_lines=["RUN apt-get install -y libmagic1"], image_distro="wolfi").notes
    assert [note.split(" ")[0] for note in notes] == ["dockerfile_lines", "image_distro"]
