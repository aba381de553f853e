"""Crons in the Django admin: schedules and next firings; edit, pause, resume or run one now, delete. Every
change goes through the crons' services (as PATCH and DELETE do) and into the admin log."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from agentplatform.admin_kit import OperationsAdmin
from agentplatform.errors import ApplicationError
from agentplatform.serde import to_jsonable
from crons import services
from crons.models import Cron
from crons.schedule import next_cron_date

UPCOMING = 5


@admin.register(Cron)
class CronAdmin(OperationsAdmin):
    list_display = ("cron_id", "schedule", "timezone", "assistant_id", "thread_id", "enabled", "next_run_date")
    list_filter = ("enabled", "on_run_completed")
    search_fields = ("cron_id", "schedule")
    show_full_result_count = False
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
        "upcoming",
        "created_at",
        "updated_at",
    )
    readonly_fields = (
        "cron_id",
        "assistant",
        "thread",
        "payload",
        "next_run_date",
        "upcoming",
        "created_at",
        "updated_at",
    )
    actions = ("pause", "resume", "run_now")
    list_per_page = 50
    change_form_template = "admin/crons/cron/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # crons are created through the API, which validates the run payload

    def get_urls(self) -> list:
        return [self.operation_url("run_now", self.run_now_view), *super().get_urls()]

    @admin.display(description=f"next {UPCOMING} firings")
    def upcoming(self, cron: Cron) -> str:
        if not cron.enabled or cron.next_run_date is None:
            return "none (paused)" if not cron.enabled else "none"
        dates, when = [cron.next_run_date], cron.next_run_date
        for _ in range(UPCOMING - 1):
            when = next_cron_date(cron.schedule, when, cron.timezone)
            if cron.end_time is not None and when > cron.end_time:
                break
            dates.append(when)
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((d.isoformat(),) for d in dates)))

    def save_model(self, request: HttpRequest, obj: Cron, form, change: bool) -> None:
        """Edits go through the same service as PATCH, so next_run_date follows a new schedule or timezone."""
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        if changed:
            services.cron_update(cron_id=obj.cron_id, body=to_jsonable(changed), fields=changed)

    def delete_model(self, request: HttpRequest, obj: Cron) -> None:
        services.cron_delete(cron_id=obj.cron_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Cron]) -> None:
        for cron in queryset:
            self.delete_model(request, cron)

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet[Cron], enabled: bool) -> int:
        changed = 0
        for cron in queryset.filter(enabled=not enabled):
            services.cron_update(cron_id=cron.cron_id, body={"enabled": enabled}, fields={"enabled": enabled})
            self.log_change(request, cron, "Resumed." if enabled else "Paused.")
            changed += 1
        return changed

    @admin.action(description="Pause the selected crons", permissions=["change"])
    def pause(self, request: HttpRequest, queryset: QuerySet[Cron]) -> None:
        messages.info(request, f"{self._set_enabled(request, queryset, False)} crons paused.")

    @admin.action(description="Resume the selected crons", permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet[Cron]) -> None:
        messages.info(request, f"{self._set_enabled(request, queryset, True)} crons resumed.")

    def has_start_run_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("runs.add_run")

    @admin.action(
        description="Run the selected crons now (once, outside their schedule)", permissions=["change", "start_run"]
    )
    def run_now(self, request: HttpRequest, queryset: QuerySet[Cron]) -> None:
        for cron in queryset:
            try:
                run = services.cron_run_now(cron_id=cron.cron_id)
            except ApplicationError as exc:
                self.message_user(request, f"Cron {cron.cron_id}: {exc.detail}", messages.ERROR)
                continue
            self.log_change(request, cron, f"Ran now: run {run.run_id}.")
            self.message_user(request, f"Cron {cron.cron_id} started run {run.run_id}.")

    def run_now_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        cron = self.object_or_404(request, object_id)
        self.require(request, cron, "runs.add_run")
        run = self.operate(
            request,
            cron,
            lambda: services.cron_run_now(cron_id=cron.cron_id),
            done=lambda r: f"Ran now: run {r.run_id}.",
        )
        if run is None:
            return HttpResponseRedirect(self.change_url(cron))
        return HttpResponseRedirect(reverse("admin:runs_run_change", args=[run.run_id]))
