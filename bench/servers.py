"""The two servers the benchmark compares, each started on loopback on a free port and stopped afterwards.

- `OurServer`: throwaway PostgreSQL (fsync on) and Redis from agentplatform.embedded, a freshly migrated database,
  Daphne, Celery worker(s) and beat, started exactly as an operator would (tests/stack.py does the spawning).
- `OfficialServer`: `langgraph dev` (in memory) from the pinned packages in bench/requirements-official.txt,
  installed into bench/.official-venv the first time, separate from the project's own requirements.

Both expose `url`, `cpu_groups()` (the root pids of every server process, by role, for bench/procs.py) and `stop()`.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agentplatform.embedded import EmbeddedPostgres, EmbeddedRedis, free_port, remove_data  # noqa: E402
from bench import log  # noqa: E402
from tests.stack import Stack, _wait_http, _wait_log  # noqa: E402

CONFIG = BENCH / "langgraph.json"
OFFICIAL_VENV = BENCH / ".official-venv"
OFFICIAL_REQUIREMENTS = BENCH / "requirements-official.txt"
# The official server's own chatter (telemetry, tracing) stays off: loopback only, and no CPU spent on it.
OFFICIAL_ENV = {"LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGSMITH_TRACING": "false", "LANGCHAIN_TRACING_V2": "false"}


@dataclass
class OurServer:
    workers: int = 1
    api_processes: int = 1
    data: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="agentplatform-bench-")))
    stack: Stack | None = None
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    worker_env: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.stack.url

    def start(self) -> OurServer:
        log(
            f"starting PostgreSQL, Redis, {self.api_processes} Daphne process(es), {self.workers} worker(s) and beat "
            f"(logs in {self.data})"
        )
        self.postgres = EmbeddedPostgres(self.data / "pg", free_port(), durable=True).start()
        self.redis = EmbeddedRedis(self.data / "redis", free_port()).start()
        os.environ["DATABASE_URI"], os.environ["REDIS_URI"] = self.postgres.uri, self.redis.uri
        env = {"LANGGRAPH_CONFIG": str(CONFIG), "LOG_LEVEL": "WARNING", "API_PROCESSES": str(self.api_processes)}
        self.stack = Stack(base_env=env, log_dir=self.data)
        self.stack.create_database()
        self.stack.start_api()
        self.start_workers()
        # Beat's start-up (Django, the schedule) must not land in the first measurement's CPU.
        beat = self.stack.start_beat()
        _wait_log(self.data / "beat.log", "beat: Starting", beat)
        return self

    def start_workers(self) -> None:
        for index in range(self.workers):
            self.stack.start_worker(f"worker{index}", self.worker_env)

    def restart_workers(self, jobs_per_worker: int) -> None:
        for index in range(self.workers):
            self.stack.stop(f"worker{index}")
        self.worker_env = {"N_JOBS_PER_WORKER": str(jobs_per_worker)}
        self.start_workers()

    def worker_pids(self) -> list[int]:
        return [proc.pid for name, proc in self.stack.processes.items() if name.startswith("worker")]

    def cpu_groups(self) -> dict[str, list[int]]:
        postmaster = int((self.postgres.data_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
        return {
            "api": [self.stack.processes["daphne"].pid],
            "workers": self.worker_pids(),
            "beat": [self.stack.processes["beat"].pid],
            "postgres": [postmaster],
            "redis": [self.redis.process.pid],
        }

    def stop(self) -> None:
        if self.stack:
            self.stack.stop_all()
        for service in (self.redis, self.postgres):
            if service:
                service.stop()
        if self.postgres:
            remove_data(self.postgres.data_dir / "pgdata")  # the logs stay, for a run that went wrong


def official_langgraph() -> Path:
    """The `langgraph` command of bench/.official-venv, (re)installed when the pinned requirements changed."""
    marker = OFFICIAL_VENV / "requirements.sha256"
    digest = hashlib.sha256(OFFICIAL_REQUIREMENTS.read_bytes()).hexdigest()
    if marker.exists() and marker.read_text() == digest:
        return OFFICIAL_VENV / "bin" / "langgraph"
    log(f"installing the official server into {OFFICIAL_VENV} (once; a minute or two)")
    if not (OFFICIAL_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(OFFICIAL_VENV)], check=True)
    pip = [str(OFFICIAL_VENV / "bin" / "python"), "-m", "pip", "install", "-r", str(OFFICIAL_REQUIREMENTS)]
    result = subprocess.run(pip, capture_output=True, text=True)
    (OFFICIAL_VENV / "pip.log").write_text(result.stdout + result.stderr)
    if result.returncode:
        raise RuntimeError(f"installing the official server failed:\n{result.stderr[-4000:]}")
    marker.write_text(digest)
    return OFFICIAL_VENV / "bin" / "langgraph"


def official_config(directory: Path) -> Path:
    """bench/langgraph.json with absolute paths: `langgraph dev` resolves graph paths against its working directory,
    which is a scratch folder so that its in-memory persistence files land outside the repository."""
    config = json.loads(CONFIG.read_text())
    graphs = {}
    for graph_id, target in config["graphs"].items():
        path, variable = target.rsplit(":", 1)
        graphs[graph_id] = f"{(BENCH / path).resolve()}:{variable}"
    path = directory / "langgraph.json"
    path.write_text(json.dumps({**config, "dependencies": [str(BENCH)], "graphs": graphs}))
    return path


@dataclass
class OfficialServer:
    data: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="official-bench-")))
    url: str = ""
    process: subprocess.Popen | None = None

    def start(self) -> OfficialServer:
        langgraph = official_langgraph()
        port = free_port()
        log(f"starting the official `langgraph dev` on port {port} (log in {self.data})")
        args = [str(langgraph), "dev", "--config", str(official_config(self.data)), "--host", "127.0.0.1"]
        args += ["--port", str(port), "--no-browser", "--no-reload"]
        log_file = open(self.data / "official.log", "ab")  # noqa: SIM115 - the child owns it
        env = {**os.environ, **OFFICIAL_ENV}
        self.process = subprocess.Popen(
            args, cwd=self.data, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.url = f"http://127.0.0.1:{port}"
        _wait_http(f"{self.url}/ok", self.process, self.data / "official.log", timeout=120)
        return self

    def cpu_groups(self) -> dict[str, list[int]]:
        return {"server": [self.process.pid]}

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
