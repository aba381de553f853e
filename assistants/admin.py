from django import forms
from django.contrib import admin

from agentplatform.graphs import get_registry
from assistants.models import Assistant, AssistantVersion
from assistants.services import assistant_save_edited


class AssistantForm(forms.ModelForm):
    class Meta:
        model = Assistant
        fields = "__all__"

    def clean_graph_id(self) -> str:
        graph_id = self.cleaned_data["graph_id"]
        if not get_registry().has(graph_id):
            raise forms.ValidationError(f"Unknown graph; langgraph.json names: {', '.join(get_registry().graph_ids())}")
        return graph_id


class AssistantVersionInline(admin.TabularInline):
    model = AssistantVersion
    extra = 0
    ordering = ("-version",)
    fields = ("version", "graph_id", "name", "config", "context", "metadata", "created_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        # Versions are history: they are written by the API, never edited by hand.
        return False


@admin.register(Assistant)
class AssistantAdmin(admin.ModelAdmin):
    list_display = ("assistant_id", "name", "graph_id", "version", "created_at", "updated_at")
    list_filter = ("graph_id",)
    search_fields = ("assistant_id", "name", "graph_id", "description")
    ordering = ("-created_at",)
    readonly_fields = ("assistant_id", "version", "created_at", "updated_at")
    fields = (
        "assistant_id",
        "graph_id",
        "name",
        "description",
        "config",
        "context",
        "metadata",
        "version",
        "created_at",
        "updated_at",
    )
    inlines = [AssistantVersionInline]
    form = AssistantForm

    def save_model(self, request, obj: Assistant, form, change: bool) -> None:
        # Every change of an assistant is a version, whoever makes it.
        assistant_save_edited(assistant=obj)
