"""Runs in the Django admin: the list with status and error, and a run page with its input, config, output and
error formatted, its event stream (replayed from the log, live while it runs), and the operations cancel
(interrupt or rollback) and retry, each through the services the API uses."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from agentplatform.admin_kit import OperationsAdmin, pretty_json, search_ids
from agentplatform.errors import NotFound
from runs import admin_views
from runs.models import Run
from runs.payload import MultitaskStrategy
from runs.services import CANCEL_ACTIONS, run_cancel, run_delete

SHOWN_KWARGS = ("input", "command", "config", "context")
# Columns the run list never shows: a run's kwargs and output may hold a whole conversation.
WIDE_COLUMNS = ("kwargs", "output", "metadata")


class MultitaskStrategyFilter(admin.SimpleListFilter):
    """The strategies the API knows, without a DISTINCT over every run to find them."""

    title = "multitask strategy"
    parameter_name = "multitask_strategy"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [(strategy.value, strategy.value) for strategy in MultitaskStrategy]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Run]) -> QuerySet[Run]:
        return queryset.filter(multitask_strategy=self.value()) if self.value() else queryset


class RunChangeList(ChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters=None) -> QuerySet[Run]:
        return super().get_queryset(request, exclude_parameters).defer(*WIDE_COLUMNS)


@admin.register(Run)
class RunAdmin(OperationsAdmin):
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
    list_filter = ("status", MultitaskStrategyFilter, "temporary")
    search_fields = ("run_id", "thread_id", "assistant_id")
    ordering = ("-created_at",)
    # Counting every run for "N total" costs a full scan on a big table; the filtered count is enough.
    show_full_result_count = False
    # Each row costs ~0.5 ms of Django's list rendering: 50 keep a page fast on a busy machine.
    list_per_page = 50
    actions = ("cancel_runs",)
    fieldsets = (
        (None, {"fields": ("run_id", "status", "thread_link", "assistant_link", "multitask_strategy", "temporary")}),
        ("Timing", {"fields": ("created_at", "available_at", "started_at", "ended_at", "updated_at")}),
        ("Lease", {"fields": ("attempt", "lease_owner", "lease_expires_at", "cancel_action", "enqueued_at")}),
        ("Input", {"fields": ("pretty_input", "pretty_command")}),
        ("Config", {"fields": ("pretty_config", "pretty_context", "pretty_metadata")}),
        ("Result", {"fields": ("pretty_output", "pretty_error")}),
        ("Other options", {"fields": ("pretty_options",), "classes": ("collapse",)}),
    )
    readonly_fields = [name for _, section in fieldsets for name in section["fields"]]
    change_form_template = "admin/runs/run/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are created through the API (or retried from a run page)

    def get_changelist(self, request: HttpRequest, **kwargs) -> type[ChangeList]:
        return RunChangeList

    def get_urls(self) -> list:
        events = self.admin_site.admin_view(self.events_view)
        return [
            self.operation_url("cancel", self.cancel_view),
            self.operation_url("retry", self.retry_view),
            path("<path:object_id>/events/", events, name="runs_run_events"),
            *super().get_urls(),
        ]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Run], search_term: str):
        return search_ids(queryset, search_term, self.search_fields), False

    @admin.display(description="error")
    def short_error(self, run: Run) -> str:
        return (run.error or {}).get("message", "")[:80] if run.error else ""

    @admin.display(description="thread")
    def thread_link(self, run: Run) -> str:
        url = reverse("admin:threads_thread_change", args=[run.thread_id])
        return format_html('<a href="{}">{}</a>', url, run.thread_id)

    @admin.display(description="assistant")
    def assistant_link(self, run: Run) -> str:
        url = reverse("admin:assistants_assistant_change", args=[run.assistant_id])
        graph_id = ((run.kwargs or {}).get("config") or {}).get("configurable", {}).get("graph_id", "")
        return format_html('<a href="{}">{}</a> {}', url, run.assistant_id, f"({graph_id})" if graph_id else "")

    @admin.display(description="input")
    def pretty_input(self, run: Run) -> str:
        return pretty_json((run.kwargs or {}).get("input"))

    @admin.display(description="command")
    def pretty_command(self, run: Run) -> str:
        return pretty_json((run.kwargs or {}).get("command"))

    @admin.display(description="config")
    def pretty_config(self, run: Run) -> str:
        return pretty_json((run.kwargs or {}).get("config"))

    @admin.display(description="context")
    def pretty_context(self, run: Run) -> str:
        return pretty_json((run.kwargs or {}).get("context"))

    @admin.display(description="metadata")
    def pretty_metadata(self, run: Run) -> str:
        return pretty_json(run.metadata)

    @admin.display(description="output")
    def pretty_output(self, run: Run) -> str:
        return pretty_json(run.output)

    @admin.display(description="error")
    def pretty_error(self, run: Run) -> str:
        return pretty_json(run.error)

    @admin.display(description="options")
    def pretty_options(self, run: Run) -> str:
        return pretty_json({k: v for k, v in (run.kwargs or {}).items() if k not in SHOWN_KWARGS})

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        run = self.get_object(request, object_id)
        extra = admin_views.run_page_context(self, request, run) if run is not None else {}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def events_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        run = self.object_or_404(request, object_id)
        if not self.has_view_permission(request, run):
            return JsonResponse({"detail": "Forbidden"}, status=403)
        return admin_views.run_events(run, after=request.GET.get("after") or "")

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        run = self.object_or_404(request, object_id)
        self.require(request, run)
        action = request.POST.get("action", "interrupt")
        action = action if action in CANCEL_ACTIONS else "interrupt"
        cancelled = self.operate(
            request,
            run,
            lambda: run_cancel(thread_id=run.thread_id, run_ids=[run.run_id], action=action),
            done=lambda _: f"Cancelled ({action}).",
        )
        if cancelled and action == "rollback" and not Run.objects.filter(pk=run.pk).exists():
            return HttpResponseRedirect(reverse("admin:threads_thread_change", args=[run.thread_id]))
        return HttpResponseRedirect(self.change_url(run))

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        run = self.object_or_404(request, object_id)
        self.require(request, run, "runs.add_run")
        new_run = self.operate(request, run, lambda: admin_views.run_retry(run), done=lambda new: f"Retried as {new}.")
        if new_run is None:
            return HttpResponseRedirect(self.change_url(run))
        self.log_addition(request, new_run, f"Retry of {run.run_id}.")
        return HttpResponseRedirect(self.change_url(new_run))

    @admin.action(description="Cancel the selected runs (interrupt)", permissions=["change"])
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        runs = list(queryset.filter(status__in=Run.IN_FLIGHT))
        try:
            cancelled = set(run_cancel(run_ids=[run.run_id for run in runs]))
        except NotFound:
            self.message_user(request, "None of the selected runs is pending or running.", messages.WARNING)
            return
        for run in runs:
            if run.run_id in cancelled:
                self.log_change(request, run, "Cancelled (interrupt).")
        self.message_user(request, f"Cancelled {len(cancelled)} run(s).")

    def delete_model(self, request: HttpRequest, obj: Run) -> None:
        # As DELETE /threads/{id}/runs/{id}: its checkpoints go too, and a run in flight is rolled back.
        run_delete(thread_id=obj.thread_id, run_id=obj.run_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        for run in queryset:
            self.delete_model(request, run)

    def render_change_form(self, request: HttpRequest, context: dict, *args, **kwargs) -> TemplateResponse:
        # Every field is read-only: the page has operations instead of a save button.
        context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
        return super().render_change_form(request, context, *args, **kwargs)
