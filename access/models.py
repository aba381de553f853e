"""Built-in API keys: each authenticates its bearer as `owner`, with `permissions`, until revoked.

Only a SHA-256 digest of the key is stored. Keys are 256 random bits from `secrets`, so a fast hash is as safe
as a slow one (nobody can enumerate 2**256 candidates; slow hashes protect guessable passwords, not random keys)
and costs nothing per request. `prefix` is the key's first characters: shown in the admin to tell keys apart,
and used to find the row before the digest is compared in constant time.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models


def validate_permissions(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ValidationError('Permissions must be a JSON list of strings, e.g. ["threads:write"].')


class ApiKey(models.Model):
    label = models.CharField(max_length=200, help_text="What the key is for, e.g. 'nightly import job'.")
    owner = models.CharField(
        max_length=200, help_text="The identity requests with this key run as (ctx.user.identity in auth handlers)."
    )
    permissions = models.JSONField(
        default=list, blank=True, validators=[validate_permissions], help_text="ctx.permissions, a list of strings."
    )
    prefix = models.CharField(max_length=16, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def __str__(self) -> str:
        return f"{self.label} ({self.prefix}…)"
