"""How the protocols start runs: through the run engine's own entry points, as /runs/wait and /runs/stream do
(runs.services.run_create, then the run's result or its event log), so there is no second execution path."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from access.users import AuthUser
from agentplatform.db_threads import in_worker_thread
from runs.services import run_create
from runs.streams import stream_reader, waiting


async def run_start(*, thread_id: str | None, payload: dict, user: AuthUser | None, headers: Mapping[str, str]) -> Any:
    """A new run (its Celery doorbell rings on commit); a null thread makes it stateless."""
    create = in_worker_thread(run_create)
    return await create(
        thread_id=thread_id,
        payload=payload,
        stateless=thread_id is None,
        user=user,
        headers={**headers},
        streaming=True,
    )


async def run_and_wait(
    *, thread_id: str | None, payload: dict, user: AuthUser | None, headers: Mapping[str, str]
) -> tuple[Any, Any]:
    """(run, result): the result is what /wait answers (values, `__interrupt__`, or `__error__`)."""
    run = await run_start(thread_id=thread_id, payload=payload, user=user, headers=headers)
    return run, await waiting.run_wait_result(run.run_id)


async def run_result(run_id: Any) -> Any:
    """The result of a run already started (what /join answers)."""
    return await waiting.run_wait_result(run_id)


async def run_events(run: Any) -> AsyncIterator[tuple[str, bytes]]:
    """(event, JSON data) of the run's log from its start to its end: subscribed before the worker can start it
    (the run was just created), so no event is missed."""
    await stream_reader.log_run_start(run)
    reader = await stream_reader.RunLogReader.open(run, last_event_id=stream_reader.START)
    while (events := await reader.read(1000)) is not None:
        for event in events:
            yield event.event, event.data
