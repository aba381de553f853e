"""API keys in the Django admin: create one (its plain key is shown once, in the confirmation message), see when
each was last used, revoke them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from access import services
from access.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("label", "owner", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("label", "owner", "prefix")
    fields = ("label", "owner", "permissions", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def save_model(self, request: HttpRequest, obj: ApiKey, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)  # label, owner, permissions; the key never changes
            return
        _, raw_key = services.api_key_create(
            label=obj.label, owner=obj.owner, permissions=obj.permissions, instance=obj
        )
        messages.warning(
            request,
            f"The new API key is {raw_key} — copy it now: it is stored only as a hash and will not be shown again. "
            "Clients send it in the x-api-key header (langgraph_sdk: get_client(url=..., api_key=...)).",
        )

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = services.api_key_revoke(api_key_ids=queryset.values_list("pk", flat=True))
        messages.info(request, f"{count} API keys revoked.")
