"""Schema-driven fuzzing (schemathesis) of every operation in our /openapi.json: no answer may be a 5xx.

A second opinion next to the hand corpus of test_fuzz_no_5xx.py: a fixed seed, deterministic generation and a
small example budget keep it reproducible and under a minute. It runs on an open stack of its own, and
authenticated on the auth stack (custom auth with owner filters and API keys on), where every operation goes through
the handlers; the coverage phase's boundary cases run on the auth stack only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import INTEGRATION_ENV
from tests.stack import separate_stack

pytestmark = pytest.mark.integration

ST = shutil.which("st") or str(Path(sys.executable).with_name("st"))


def _warm_semantic_search(url: str, headers: dict) -> None:
    """The first semantic search of a process loads the embedding model, which on a loaded machine takes longer
    than schemathesis' request timeout: load it before the fuzzing starts."""
    response = httpx.post(f"{url}/store/items/search", json={"query": "warm up"}, headers=headers, timeout=300)
    assert response.status_code == 200, response.text


def _schemathesis(url: str, tmp_path: Path, *, phases: str, headers: dict | None = None) -> subprocess.CompletedProcess:
    _warm_semantic_search(url, headers or {})
    header_args = [arg for name, value in (headers or {}).items() for arg in ("--header", f"{name}: {value}")]
    return subprocess.run(
        [
            ST,
            "run",
            f"{url}/openapi.json",
            *header_args,
            "--checks",
            "not_a_server_error",
            "--phases",
            phases,
            "--max-examples",
            "3",
            "--seed",
            "20261122",
            "--generation-deterministic",
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--suppress-health-check",
            "all",
            # Live thread streams never end on their own (the run and thread joins, the thread-centric stream).
            "--exclude-path-regex",
            "/stream(/events)?$",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )


@pytest.fixture(scope="module")
def scratch_stack():
    """Schemathesis' valid requests change what they find: on the session stack it once patched the system
    assistant of `fail` to another graph, and every later test of that graph saw the other graph's output."""
    config = Path(INTEGRATION_ENV["LANGGRAPH_CONFIG"])
    stack = separate_stack(INTEGRATION_ENV, langgraph_config=config, redis_db=9, prefix="agentplatform-fuzz-")
    yield stack
    stack.stop_all()


def test_schemathesis_finds_no_server_error(scratch_stack, tmp_path):
    # The coverage phase's boundary cases (some 3300 requests, most of the minute this file took) go through the
    # same validation on both stacks: they run once, authenticated, where every operation also meets the handlers.
    result = _schemathesis(scratch_stack.url, tmp_path, phases="examples,fuzzing")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_schemathesis_finds_no_server_error_when_authenticated(auth_stack, tmp_path):
    headers = {"Authorization": "Bearer user1-token"}
    result = _schemathesis(auth_stack.url, tmp_path, phases="examples,coverage,fuzzing", headers=headers)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
