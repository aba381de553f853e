"""Crons in the Django admin: see schedules and next firings, edit or pause them, delete them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from agentplatform.serde import to_jsonable
from crons import services
from crons.models import Cron


@admin.register(Cron)
class CronAdmin(admin.ModelAdmin):
    list_display = ("cron_id", "schedule", "timezone", "assistant_id", "thread_id", "enabled", "next_run_date")
    list_filter = ("enabled", "on_run_completed")
    search_fields = ("cron_id", "schedule")
    fields = (
        "cron_id",
        "assistant",
        "thread",
        "schedule",
        "timezone",
        "end_time",
        "enabled",
        "on_run_completed",
        "metadata",
        "payload",
        "next_run_date",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("cron_id", "assistant", "thread", "payload", "next_run_date", "created_at", "updated_at")
    actions = ("pause", "resume")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # crons are created through the API, which validates the run payload

    def save_model(self, request: HttpRequest, obj: Cron, form, change: bool) -> None:
        """Edits go through the same service as PATCH, so next_run_date follows a new schedule or timezone."""
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        if changed:
            services.cron_update(cron_id=obj.cron_id, body=to_jsonable(changed), fields=changed)

    @admin.action(description="Pause the selected crons")
    def pause(self, request: HttpRequest, queryset: QuerySet[Cron]) -> None:
        messages.info(request, f"{queryset.update(enabled=False)} crons paused.")

    @admin.action(description="Resume the selected crons")
    def resume(self, request: HttpRequest, queryset: QuerySet[Cron]) -> None:
        messages.info(request, f"{queryset.update(enabled=True)} crons resumed.")
