from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from agentplatform.ids import uuid7
from threads.models import Thread


class Run(models.Model):
    """One execution of an assistant on a thread; Postgres is the only source of truth for its status."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCESS = "success"
        ERROR = "error"
        TIMEOUT = "timeout"
        INTERRUPTED = "interrupted"

    TERMINAL = (Status.SUCCESS, Status.ERROR, Status.TIMEOUT, Status.INTERRUPTED)
    IN_FLIGHT = (Status.PENDING, Status.RUNNING)

    run_id = models.UUIDField(primary_key=True, default=uuid7)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="runs", db_column="thread_id")
    assistant_id = models.UUIDField(db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    metadata = models.JSONField(default=dict, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    multitask_strategy = models.CharField(max_length=16, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # A run may not start before this instant (after_seconds); equals created_at otherwise.
    available_at = models.DateTimeField(default=timezone.now)
    # Lease: a worker owns a running run while lease_expires_at (database clock) is in the future.
    attempt = models.IntegerField(default=0)
    lease_token = models.UUIDField(null=True, blank=True)
    lease_owner = models.CharField(max_length=255, null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # When the last Celery message for this run was sent (or, with a countdown, is due): the sweeper re-sends
    # unanswered ones. None until the first one: a delayed run is rung by the sweeper once it is due.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    cancel_action = models.CharField(max_length=16, null=True, blank=True)
    temporary = models.BooleanField(default=False)
    output = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            # Invariant 1: at most one running run per thread, enforced by the database.
            models.UniqueConstraint(
                fields=["thread"], condition=Q(status="running"), name="run_one_running_per_thread"
            ),
        ]
        indexes = [
            models.Index(fields=["thread", "created_at"], name="run_thread_created"),
            models.Index(fields=["available_at"], name="run_pending_available", condition=Q(status="pending")),
            models.Index(fields=["lease_expires_at"], name="run_running_lease", condition=Q(status="running")),
            # The admin: the run list newest first (all, or of one status), runs by status in the last hour or
            # day, and the latest failures (docs/benchmarks.md, admin pages).
            models.Index(fields=["created_at"], name="run_created"),
            models.Index(fields=["status", "created_at"], name="run_status_created"),
            models.Index(fields=["ended_at"], name="run_failed_ended", condition=Q(status__in=["error", "timeout"])),
            # /metrics: the runs that ended since the last scrape (runs/metrics.py).
            models.Index(fields=["ended_at"], name="run_ended", condition=Q(ended_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} ({self.status})"

    @property
    def shown_status(self) -> str:
        """The status the API shows. A run whose cancel was requested is `interrupted` at once, as the official
        server answers right after a cancel, while its worker stops it (the row stays `running` until then, so
        the thread cannot start another run meanwhile)."""
        if self.cancel_action and self.status in self.IN_FLIGHT:
            return self.Status.INTERRUPTED
        return self.status


# In flight, but its cancel was requested: shown `interrupted`, and cannot be cancelled again (Run.shown_status).
CANCELLING = Q(status__in=Run.IN_FLIGHT, cancel_action__isnull=False)


def shown_status_filter(status: str) -> Q:
    """The rows whose shown status is `status`."""
    if status == Run.Status.INTERRUPTED:
        return Q(status=status) | CANCELLING
    if status in Run.IN_FLIGHT:
        return Q(status=status) & ~CANCELLING
    return Q(status=status)
