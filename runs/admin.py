from django.contrib import admin, messages

from agentplatform.errors import NotFound
from runs.models import Run
from runs.services import run_cancel


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = (
        "run_id",
        "status",
        "thread_id",
        "assistant_id",
        "attempt",
        "created_at",
        "started_at",
        "ended_at",
        "short_error",
    )
    list_filter = ("status", "multitask_strategy", "temporary")
    search_fields = ("run_id", "thread__thread_id", "assistant_id")
    ordering = ("-created_at",)
    actions = ("cancel_runs",)
    # Runs are written by the engine only; the admin reads them and may cancel them.
    readonly_fields = [field.name for field in Run._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="error")
    def short_error(self, run: Run) -> str:
        return (run.error or {}).get("message", "")[:80] if run.error else ""

    @admin.action(description="Cancel the selected runs (interrupt)")
    def cancel_runs(self, request, queryset) -> None:
        ids = list(queryset.filter(status__in=Run.IN_FLIGHT).values_list("run_id", flat=True))
        try:
            cancelled = run_cancel(run_ids=ids)
        except NotFound:
            self.message_user(request, "None of the selected runs is pending or running.", messages.WARNING)
            return
        self.message_user(request, f"Cancelled {len(cancelled)} run(s).")
