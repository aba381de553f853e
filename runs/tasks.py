"""Celery tasks: thin wrappers that take ids and hand over to runs.engine.worker / runs.engine.sweeper."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready, worker_shutting_down

from runs.engine import cancel_listener, worker_loop
from runs.engine.doorbell import EXECUTE_RUN_TASK
from runs.engine.sweeper import run_ring_due, run_sweep
from runs.engine.worker import run_execute
from runs.metrics import run_sweep_counts_add


@shared_task(name=EXECUTE_RUN_TASK, ignore_result=True)
def execute_run(run_id: str) -> None:
    run_execute(run_id=run_id)


@shared_task(name="runs.tasks.sweep_runs", ignore_result=True)
def sweep_runs() -> dict[str, int]:
    counts = run_sweep()
    run_sweep_counts_add(counts)  # the sweeps of every beat and worker, for /metrics
    return counts


@shared_task(name="runs.tasks.ring_due_runs", ignore_result=True)
def ring_due_runs() -> int:
    return run_ring_due()


@worker_shutting_down.connect
def _release_runs_on_shutdown(**_: object) -> None:
    # Running runs get BG_JOB_SHUTDOWN_GRACE_PERIOD_SECS to finish, then go back to pending (runs.engine.worker).
    worker_loop.begin_shutdown()


@worker_ready.connect
def _listen_for_cancels(**_: object) -> None:
    # Subscribed before the first run starts, so its cancel need not wait for the Postgres poll.
    cancel_listener.start()
