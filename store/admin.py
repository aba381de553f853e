"""Browse and delete store items; deletes go through the store so its vectors go with them."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from store import services
from store.models import StoreItem


@admin.register(StoreItem)
class StoreItemAdmin(admin.ModelAdmin):
    list_display = ("prefix", "key", "updated_at", "expires_at")
    search_fields = ("prefix", "key")
    list_filter = ("updated_at",)
    readonly_fields = ("prefix", "key", "value", "created_at", "updated_at", "expires_at", "ttl_minutes")
    exclude = ("id",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StoreItem | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: StoreItem) -> None:
        services.store_item_delete(namespace=obj.namespace, key=obj.key)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[StoreItem]) -> None:
        for item in queryset:
            services.store_item_delete(namespace=item.namespace, key=item.key)
