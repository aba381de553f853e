"""`manage.py dev` restarts a worker that exits non-zero (its consumer could not be repaired), nothing else."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from agentplatform.management.commands import dev

# Fails (status 1) the first time, then exits 0: the supervisor's restart is visible from outside.
FAIL_ONCE = "import os, sys; first = not os.path.exists(sys.argv[1]); open(sys.argv[1], 'a').close(); sys.exit(first)"


def test_a_worker_that_exits_non_zero_is_started_again(tmp_path, monkeypatch):
    monkeypatch.setattr(dev, "WORKER_RESTART_DELAY_SECS", 0)
    marker = tmp_path / "started"
    worker = subprocess.Popen([sys.executable, "-c", FAIL_ONCE, str(marker), "worker"])
    # The first run's status 1 is restarted; the second run's status 0 ends the supervision.
    with pytest.raises(SystemExit, match="exited with 0"):
        dev.Command()._supervise([worker], dict(os.environ))


def test_any_other_exit_stops_the_server():
    api = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)", "daphne"])
    with pytest.raises(SystemExit, match="exited with 3"):
        dev.Command()._supervise([api], dict(os.environ))
