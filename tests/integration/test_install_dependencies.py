"""`manage.py install_dependencies` installs a project's dependencies as `langgraph build` does: its local
package, a plain folder's requirements.txt, and a flat-layout folder on the import path. Into a throwaway virtual
environment that sees this server's packages, so the shared one is left alone (this needs the package index for
setuptools, the local packages' build backend)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "tests" / "projects" / "with_dependencies"
CHECK = """
import sys
from agentplatform.graphs import GraphRegistry
from agentplatform.langgraph_config import load_config

registry = GraphRegistry(load_config(sys.argv[1])).load()
print(registry.entry("agent").target.invoke({})["found"])
"""


@pytest.fixture
def venv_python(tmp_path) -> Path:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    # The server's own packages stay visible (read only); what the command installs lands in this venv.
    (site / "agentplatform-server.pth").write_text("\n".join(p for p in sys.path if p.endswith("site-packages")))
    return venv / "bin" / "python"


def _graph_output(python: Path, config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-c", CHECK, str(config)], cwd=ROOT, capture_output=True, text=True)


def test_each_kind_of_dependency_is_installed_or_importable(tmp_path, venv_python):
    project = shutil.copytree(PROJECT, tmp_path / "project")
    config = project / "langgraph.json"
    assert _graph_output(venv_python, config).returncode != 0  # nothing installed yet: the graph cannot import

    install = [str(venv_python), "manage.py", "install_dependencies", "--config", str(config)]
    done = subprocess.run(install, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr

    found = _graph_output(venv_python, config)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == str(
        ["installed from requirements.txt", "my_pkg, installed as a package", "flat_pkg, on the import path"]
    )


def test_a_python_version_other_than_the_environments_is_refused(tmp_path):
    project = shutil.copytree(PROJECT, tmp_path / "project")
    config = project / "langgraph.json"
    config.write_text(config.read_text().replace('"3.11"', '"3.99"'))
    done = subprocess.run(
        [sys.executable, "manage.py", "install_dependencies", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "python_version is 3.99" in done.stderr
    assert "--build-arg PYTHON_VERSION=3.99" in done.stderr
