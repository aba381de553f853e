"""The store in the Django admin: its namespaces as a tree, the items under one with search (semantic when
langgraph.json configures store.index, and by exact values), and deletes through the store so that an item's
vectors go with it. Items are written by graphs and the API, never edited here."""

from __future__ import annotations

import json

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse

from agentplatform.admin_kit import OperationsAdmin, json_from_form, json_text
from agentplatform.errors import ApplicationError
from store import selectors, services
from store.config import store_index_config
from store.models import StoreItem

CHILDREN_SHOWN = 200
ITEMS_SHOWN = 50


@admin.register(StoreItem)
class StoreItemAdmin(OperationsAdmin):
    list_display = ("prefix", "key", "updated_at", "expires_at")
    search_fields = ("prefix", "key")
    list_filter = ("updated_at",)
    readonly_fields = ("prefix", "key", "value", "created_at", "updated_at", "expires_at", "ttl_minutes")
    exclude = ("id",)
    show_full_result_count = False
    # Each row costs ~0.5 ms of Django's list rendering: 50 keep a page fast on a busy machine.
    list_per_page = 50
    change_list_template = "admin/store/storeitem/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StoreItem | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: StoreItem) -> None:
        services.store_item_delete(namespace=obj.namespace, key=obj.key)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[StoreItem]) -> None:
        for item in queryset:
            services.store_item_delete(namespace=item.namespace, key=item.key)

    def get_urls(self) -> list:
        tree = self.admin_site.admin_view(self.tree_view)
        return [path("tree/", tree, name="store_storeitem_tree"), *super().get_urls()]

    def tree_view(self, request: HttpRequest) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        namespace = [label for label in (request.GET.get("namespace") or "").split(".") if label]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Store namespaces",
            "namespace": namespace,
            "crumbs": [(label, ".".join(namespace[: i + 1])) for i, label in enumerate(namespace)],
            "semantic": store_index_config() is not None,
            "query": request.GET.get("query", ""),
            "filter_text": request.GET.get("filter", ""),
            **self._tree(namespace, request.GET),
        }
        return TemplateResponse(request, "admin/store/storeitem/tree.html", context)

    def _tree(self, namespace: list[str], query: dict) -> dict:
        """The namespaces one level below `namespace` and the newest (or best matching) items under it."""
        try:
            found = selectors.store_namespace_list(prefix=namespace, max_depth=len(namespace) + 1, limit=CHILDREN_SHOWN)
            items = selectors.store_item_search(
                namespace_prefix=namespace,
                query=query.get("query") or None,
                filter=json_from_form(query.get("filter"), what="The filter", blank=None),
                limit=ITEMS_SHOWN,
            )
        except ApplicationError as exc:
            return {"error": exc.detail, "children": [], "items": []}
        children = sorted({tuple(ns) for ns in found if len(ns) > len(namespace)})
        return {"children": [".".join(child) for child in children], "items": [self._row(item) for item in items]}

    def _row(self, item) -> dict:
        prefix = ".".join(item.namespace)
        pk = json.dumps([prefix, item.key], ensure_ascii=False)  # the id store_item_view gives the row
        return {
            "namespace": prefix,
            "key": item.key,
            "value": json_text(item.value),
            "updated_at": item.updated_at,
            "score": getattr(item, "score", None),
            "url": reverse("admin:store_storeitem_change", args=[quote(pk)]),
        }
