"""The thread page: the conversation as a chat, the current values, the checkpoint history as a timeline (fork
from a checkpoint, update the state as a node), a pending interrupt with a form to resume it, and its runs.

It lives in the console, above the runs app, because it lists a thread's runs and starts new ones; the threads
app may not import runs.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from agentplatform.admin_kit import OperationsAdmin, pretty_json, search_ids
from console import admin_views
from runs.admin import WIDE_COLUMNS as RUN_WIDE_COLUMNS
from runs.models import Run
from threads.models import Thread
from threads.services import thread_delete, thread_update

RECENT_RUNS = 20
# Columns the thread list never shows: values hold the whole conversation.
WIDE_COLUMNS = ("values", "interrupts", "error", "config")


class ThreadChangeList(ChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters=None) -> QuerySet[Thread]:
        return super().get_queryset(request, exclude_parameters).defer(*WIDE_COLUMNS)


class RunInline(admin.TabularInline):
    """The thread's latest runs, each linking to its run page (the run list has them all)."""

    model = Run
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("run_id", "status", "assistant_id", "attempt", "created_at", "ended_at")
    readonly_fields = fields
    ordering = ("-created_at",)
    verbose_name_plural = f"runs (latest {RECENT_RUNS})"

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Thread)
class ThreadAdmin(OperationsAdmin):
    list_display = ("thread_id", "status", "graph_id", "created_at", "updated_at")
    list_filter = ("status", "created_at", "updated_at")
    search_fields = ("thread_id", "metadata")
    ordering = ("-updated_at",)
    show_full_result_count = False
    # Each row costs ~0.5 ms of Django's list rendering: 50 keep a page fast on a busy machine.
    list_per_page = 50
    readonly_fields = (
        "thread_id",
        "status",
        "created_at",
        "updated_at",
        "state_updated_at",
        "pretty_values",
        "pretty_interrupts",
        "pretty_error",
        "pretty_config",
        "ttl_minutes",
        "ttl_strategy",
        "expires_at",
    )
    fields = ("metadata", *readonly_fields)
    inlines = [RunInline]
    change_form_template = "admin/threads/thread/change_form.html"

    def get_changelist(self, request: HttpRequest, **kwargs) -> type[ChangeList]:
        return ThreadChangeList

    def get_urls(self) -> list:
        return [
            self.operation_url("resume", self.resume_view),
            self.operation_url("fork", self.fork_view),
            self.operation_url("state", self.state_view),
            *super().get_urls(),
        ]

    @admin.display(description="graph", ordering="metadata__graph_id")
    def graph_id(self, thread: Thread) -> str:
        return (thread.metadata or {}).get("graph_id", "")

    @admin.display(description="values")
    def pretty_values(self, thread: Thread) -> str:
        return pretty_json(thread.values)

    @admin.display(description="interrupts")
    def pretty_interrupts(self, thread: Thread) -> str:
        return pretty_json(thread.interrupts)

    @admin.display(description="error")
    def pretty_error(self, thread: Thread) -> str:
        return pretty_json(thread.error)

    @admin.display(description="config")
    def pretty_config(self, thread: Thread) -> str:
        return pretty_json(thread.config)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Thread], search_term: str):
        # thread_id is a UUID and metadata JSON: search their text forms rather than failing on a partial id.
        return search_ids(queryset, search_term, ("thread_id", "metadata")), False

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        thread = self.get_object(request, object_id)
        extra = {}
        if thread is not None:
            may_operate = self.has_change_permission(request, thread) and request.user.has_perm("runs.add_run")
            extra = admin_views.thread_page_context(thread, request, may_operate=may_operate)
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def get_formset_kwargs(self, request: HttpRequest, obj: Thread, inline, prefix: str) -> dict:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, RunInline) and obj is not None:
            # A thread may have thousands of runs: the page shows the latest (an index scan on thread, created_at).
            latest = Run.objects.filter(thread=obj).order_by("-created_at").values("run_id")[:RECENT_RUNS]
            kwargs["queryset"] = kwargs["queryset"].filter(run_id__in=latest).defer(*RUN_WIDE_COLUMNS)
        return kwargs

    def save_model(self, request: HttpRequest, obj: Thread, form, change: bool) -> None:
        # As PATCH /threads/{id}: the keys given are merged into the current metadata.
        thread_update(thread_id=obj.thread_id, metadata=obj.metadata)

    def delete_model(self, request: HttpRequest, obj: Thread) -> None:
        thread_delete(thread_id=obj.thread_id)  # its runs and checkpoints too

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Thread]) -> None:
        for thread in queryset:
            self.delete_model(request, thread)

    def _started(self, request: HttpRequest, thread: Thread, start, what: str) -> HttpResponse:
        """Start a run from the page; on success follow it on its run page, else come back with the error."""
        self.require(request, thread, "runs.add_run")
        run = self.operate(request, thread, start, done=lambda run: f"{what}: run {run.run_id}.")
        if run is None:
            return HttpResponseRedirect(self.change_url(thread))
        self.log_addition(request, run, f"{what} on thread {thread.thread_id}.")
        return HttpResponseRedirect(reverse("admin:runs_run_change", args=[run.run_id]))

    def resume_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        thread = self.object_or_404(request, object_id)
        resume = request.POST.get("resume", "")
        return self._started(request, thread, lambda: admin_views.thread_resume(thread, resume_text=resume), "Resumed")

    def fork_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        thread = self.object_or_404(request, object_id)
        return self._started(request, thread, lambda: admin_views.thread_fork(thread, request.POST), "Forked")

    def state_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        thread = self.object_or_404(request, object_id)
        self.require(request, thread)
        self.operate(
            request,
            thread,
            lambda: admin_views.thread_update_state(thread, request.POST),
            done=lambda result: f"State updated: checkpoint {result['checkpoint_id']}.",
        )
        return HttpResponseRedirect(self.change_url(thread))
