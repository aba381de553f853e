"""The store's rows live in LangGraph's own `store` table (created by its setup()); this model is a read-only
window on them for the Django admin, through a view that gives each (namespace, key) a single-column id."""

from __future__ import annotations

from django.db import models


class StoreItem(models.Model):
    id = models.TextField(primary_key=True)  # JSON ["<dot-joined namespace>", "<key>"]
    prefix = models.TextField()
    key = models.TextField()
    value = models.JSONField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True)
    ttl_minutes = models.IntegerField(null=True)

    class Meta:
        managed = False
        db_table = "store_item_view"
        ordering = ["-updated_at"]
        verbose_name = "store item"

    @property
    def namespace(self) -> tuple[str, ...]:
        return tuple(self.prefix.split("."))

    def __str__(self) -> str:
        return f"{self.prefix} / {self.key}"
