"""How an attempt of a run ended: produced by runs.engine.executor, acted on by runs.engine.worker,
written by runs.engine.leases.

Its own module so that the lease (database writes) and the executor (graph streaming) share the type without
importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Ending(StrEnum):
    """A terminal run status (the first four, spelled like Run.Status), or what the worker does instead."""

    SUCCESS = "success"
    ERROR = "error"
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"
    ROLLBACK = "rollback"  # cancelled with action=rollback: delete the run and its checkpoints
    RELEASE = "release"  # shutdown or infrastructure failure: pending again, a later attempt resumes it
    LEASE_LOST = "lease_lost"  # another attempt owns the run now: write nothing


@dataclass
class Outcome:
    """How an attempt ended, with what the worker writes for it."""

    status: Ending
    result: Any = None
    error: dict | None = None
    # Thread state after the attempt (None when the run has no checkpointer or the state was not read).
    values: Any = None
    interrupts: dict = field(default_factory=dict)
    has_next: bool = False
    state_read: bool = False
    # Ended by the supervisor, not by the attempt (which may still be running): its error event is not logged yet.
    abandoned: bool = False

    def __post_init__(self) -> None:
        # A plain "success" becomes the member (and an unknown word fails here, not at the database write).
        self.status = Ending(self.status)
