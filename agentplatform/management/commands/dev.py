"""`python manage.py dev`: one command that runs the whole server on this machine.

Starts embedded PostgreSQL and Redis (unless DATABASE_URI / REDIS_URI name existing ones), migrates, then runs
Daphne, a Celery worker and Celery beat as child processes until interrupted.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from agentplatform.embedded import EmbeddedError, EmbeddedPostgres, EmbeddedRedis, port_open


class Command(BaseCommand):
    help = "Run agentplatform (API, worker, beat) on embedded or configured PostgreSQL and Redis."
    # The children run the checks (`manage.py check` below), with the secret key this command provides.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "2024")))
        parser.add_argument("--no-worker", action="store_true", help="Do not start a Celery worker.")

    def handle(self, *args, **options):
        # SIGTERM (e.g. from a process manager) stops children and embedded services like Ctrl-C does.
        signal.signal(signal.SIGTERM, _interrupt)
        _ensure_paths()
        services: list = []
        children: list[subprocess.Popen] = []
        try:
            uris = self._start_services(services)
            env = {**os.environ, "DATABASE_URI": settings.DATABASE_URI, "REDIS_URI": settings.REDIS_URI, **uris}
            env.setdefault("DJANGO_SECRET_KEY", _local_secret_key(settings.LOCAL_SECRET_KEY_FILE))
            env.setdefault("LANGGRAPH_CONFIG", settings.LANGGRAPH_CONFIG)
            self._manage(["migrate", "--noinput"], env)
            self._manage(["check"], env)
            self._manage(["collectstatic", "--noinput", "-v", "0"], env)
            # API_PROCESSES Daphne processes on one socket (agentplatform/daphne_server.py), one by default.
            api = ["agentplatform.daphne_server", "-b", options["host"], "-p", str(options["port"])]
            children.append(self._spawn(api, env))
            if not options["no_worker"]:
                children.append(self._spawn(["celery", "-A", "agentplatform", "worker", "-l", "warning"], env))
                children.append(self._spawn(["celery", "-A", "agentplatform", "beat", "-l", "warning"], env))
            self._wait_ready(options["host"], options["port"], children[0])
            url = f"http://{options['host']}:{options['port']}"
            self.stdout.write(self.style.SUCCESS(f"agentplatform is ready at {url}  (docs: {url}/docs)"))
            self._supervise(children, env)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                _stop(child)
            for service in services:
                service.stop()

    def _start_services(self, services: list) -> dict[str, str]:
        """Start the embedded services that no *_URI names (appending each to `services`); return their URIs."""
        uris = {}
        data_dir = settings.EMBEDDED_DATA_DIR
        try:
            if not (os.environ.get("DATABASE_URI") or os.environ.get("POSTGRES_URI")):
                fixed = "AGENTPLATFORM_PG_PORT" in os.environ
                pg = EmbeddedPostgres(data_dir / "postgres", settings.EMBEDDED_PG_PORT, fixed_port=fixed)
                services.append(pg.start())
                uris["DATABASE_URI"] = pg.uri
                self._announce("PostgreSQL", pg, settings.EMBEDDED_PG_PORT)
            if not os.environ.get("REDIS_URI"):
                fixed = "AGENTPLATFORM_REDIS_PORT" in os.environ
                redis = EmbeddedRedis(data_dir / "redis", settings.EMBEDDED_REDIS_PORT, fixed_port=fixed)
                services.append(redis.start())
                uris["REDIS_URI"] = redis.uri
                self._announce("Redis", redis, settings.EMBEDDED_REDIS_PORT)
        except EmbeddedError as exc:
            raise CommandError(str(exc)) from exc
        return uris

    def _announce(self, what: str, service: EmbeddedPostgres | EmbeddedRedis, preferred: int) -> None:
        note = " (already running, from an earlier start)" if service.reused else ""
        if service.port != preferred:
            note += f" (port {preferred} was in use by another process; {service.data_dir} keeps port {service.port})"
        self.stdout.write(f"embedded {what} on {service.uri}{note}")

    def _manage(self, args: list[str], env: dict) -> None:
        subprocess.run([sys.executable, "manage.py", *args], env=env, check=True, cwd=settings.BASE_DIR)

    def _spawn(self, args: list[str], env: dict) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", *args], env=env, cwd=settings.BASE_DIR)

    def _wait_ready(self, host: str, port: int, api: subprocess.Popen) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if api.poll() is not None:
                raise SystemExit(f"daphne exited with {api.returncode}; see the messages above.")
            if port_open(port, host if host not in ("0.0.0.0", "") else "127.0.0.1"):
                return
            time.sleep(0.1)
        raise SystemExit("daphne did not start listening within 60 s.")

    def _supervise(self, children: list[subprocess.Popen], env: dict) -> None:
        while True:
            for index, child in enumerate(children):
                if child.poll() is None:
                    continue
                if not _restartable(child):
                    raise SystemExit(f"{child.args[2]} exited with {child.returncode}; stopping.")
                self.stderr.write(f"the worker exited with {child.returncode}; starting a new one")
                time.sleep(WORKER_RESTART_DELAY_SECS)
                children[index] = subprocess.Popen(child.args, env=env, cwd=settings.BASE_DIR)
            time.sleep(0.5)


def _ensure_paths() -> None:
    """Create the folders the services and beat write under: beat fails on a missing schedule folder."""
    settings.EMBEDDED_DATA_DIR.mkdir(parents=True, exist_ok=True)
    Path(settings.CELERY_BEAT_SCHEDULE_FILENAME).parent.mkdir(parents=True, exist_ok=True)


# A worker that keeps failing at start is restarted at this pace, not in a tight loop.
WORKER_RESTART_DELAY_SECS = 2.0


def _restartable(child: subprocess.Popen) -> bool:
    # A worker exits non-zero when it cannot repair its broker consumer (agentplatform/consumer_watchdog.py):
    # like every process manager we ship, start a fresh one. Any other exit stops the whole server.
    return child.returncode != 0 and "worker" in child.args


def _local_secret_key(path: Path) -> str:
    """This machine's development key: random, made once, readable by its owner only."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
