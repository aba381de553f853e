"""Assistants in the Django admin: edit one (each save is a new version), see its graph drawn and its schemas,
compare two versions and make any of them the latest, all through the assistants' services."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from agentplatform.admin_kit import OperationsAdmin
from agentplatform.graphs import get_registry
from assistants import admin_views
from assistants.models import Assistant, AssistantVersion
from assistants.services import assistant_delete, assistant_save_edited, assistant_set_latest

RECENT_VERSIONS = 20
VERSIONS_PAGE = 100


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
    verbose_name_plural = f"versions (latest {RECENT_VERSIONS}; compare them and set the latest from “Versions”)"

    def has_add_permission(self, request, obj=None) -> bool:
        # Versions are history: they are written by the API, never edited by hand.
        return False


@admin.register(Assistant)
class AssistantAdmin(OperationsAdmin):
    list_display = ("assistant_id", "name", "graph_id", "version", "created_at", "updated_at")
    list_filter = ("graph_id",)
    search_fields = ("assistant_id", "name", "graph_id", "description")
    ordering = ("-created_at",)
    show_full_result_count = False
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
    change_form_template = "admin/assistants/assistant/change_form.html"

    def get_urls(self) -> list:
        versions = self.admin_site.admin_view(self.versions_view)
        return [
            path("<path:object_id>/versions/", versions, name="assistants_assistant_versions"),
            self.operation_url("set_latest", self.set_latest_view),
            *super().get_urls(),
        ]

    def save_model(self, request, obj: Assistant, form, change: bool) -> None:
        # Every change of an assistant is a version, whoever makes it.
        assistant_save_edited(assistant=obj)

    def delete_model(self, request: HttpRequest, obj: Assistant) -> None:
        assistant_delete(assistant_id=obj.assistant_id)  # its in-flight runs are interrupted, as by the API

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for assistant in queryset:
            self.delete_model(request, assistant)

    def get_formset_kwargs(self, request: HttpRequest, obj: Assistant, inline, prefix: str) -> dict:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if obj is not None:
            latest = AssistantVersion.objects.filter(assistant=obj).order_by("-version").values("pk")[:RECENT_VERSIONS]
            kwargs["queryset"] = kwargs["queryset"].filter(pk__in=latest)
        return kwargs

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        assistant = self.get_object(request, object_id)
        extra = {} if assistant is None else admin_views.assistant_page_context(assistant)
        if assistant is not None:
            extra["versions_url"] = reverse("admin:assistants_assistant_versions", args=[assistant.pk])
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def versions_view(self, request: HttpRequest, object_id: str) -> TemplateResponse:
        assistant = self.object_or_404(request, object_id)
        if not self.has_view_permission(request, assistant):
            raise PermissionDenied
        versions = list(AssistantVersion.objects.filter(assistant=assistant).order_by("-version")[:VERSIONS_PAGE])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": assistant,
            "title": f"Versions of {assistant}",
            "versions": versions,
            "may_change": self.has_change_permission(request, assistant),
            "set_latest_url": reverse("admin:assistants_assistant_set_latest", args=[assistant.pk]),
            **admin_views.comparison(assistant, versions, request.GET),
        }
        return TemplateResponse(request, "admin/assistants/assistant/versions.html", context)

    def set_latest_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        assistant = self.object_or_404(request, object_id)
        self.require(request, assistant)
        version = request.POST.get("version", "")
        self.operate(
            request,
            assistant,
            lambda: assistant_set_latest(assistant_id=assistant.pk, version=int(version) if version.isdigit() else -1),
            done=lambda chosen: f"Version {chosen.version} is now the latest.",
        )
        return HttpResponseRedirect(reverse("admin:assistants_assistant_versions", args=[assistant.pk]))
