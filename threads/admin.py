import json

from django.contrib import admin
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils.html import format_html

from threads.models import Thread


def _pretty(value: object) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False, default=str))


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ("thread_id", "status", "graph_id", "created_at", "updated_at")
    list_filter = ("status", "created_at", "updated_at")
    search_fields = ("thread_id", "metadata")
    ordering = ("-updated_at",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "thread_id",
        "created_at",
        "updated_at",
        "state_updated_at",
        "status",
        "pretty_values",
        "pretty_interrupts",
        "pretty_error",
        "ttl_minutes",
        "ttl_strategy",
        "expires_at",
    )
    fields = ("metadata", "config", *readonly_fields)

    @admin.display(description="graph", ordering="metadata__graph_id")
    def graph_id(self, thread: Thread) -> str:
        return (thread.metadata or {}).get("graph_id", "")

    @admin.display(description="values")
    def pretty_values(self, thread: Thread) -> str:
        return _pretty(thread.values)

    @admin.display(description="interrupts")
    def pretty_interrupts(self, thread: Thread) -> str:
        return _pretty(thread.interrupts)

    @admin.display(description="error")
    def pretty_error(self, thread: Thread) -> str:
        return _pretty(thread.error)

    def get_search_results(self, request, queryset, search_term):
        # thread_id is a UUID and metadata JSON: search their text forms rather than failing on a partial id.
        if not search_term:
            return queryset, False
        queryset = queryset.annotate(_id_text=Cast("thread_id", TextField()), _meta_text=Cast("metadata", TextField()))
        term = search_term.strip()
        return queryset.filter(Q(_id_text__icontains=term) | Q(_meta_text__icontains=term)), False
