"""Writes to API keys: create (the only moment the plain key exists), revoke, record use."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from access.models import ApiKey
from access.selectors import KEY_PREFIX, PREFIX_LENGTH, api_key_digest

# last_used_at is refreshed at most this often per key, so a busy key costs one UPDATE a minute, not one a request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def api_key_create(
    *, label: str, owner: str, permissions: list[str] | None = None, instance: ApiKey | None = None
) -> tuple[ApiKey, str]:
    """A new key and its plain text, which is not stored: show it once. `instance` is an unsaved ApiKey to fill
    (the admin's form object); otherwise one is made."""
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = instance or ApiKey()
    api_key.label, api_key.owner = label, owner
    api_key.permissions = [] if permissions is None else permissions  # validated as given, never coerced
    api_key.prefix, api_key.key_hash = raw_key[:PREFIX_LENGTH], api_key_digest(raw_key)
    api_key.full_clean()
    api_key.save()
    return api_key, raw_key


def api_key_revoke(*, api_key_ids: Iterable[int]) -> int:
    """Revoke the keys that are still active; the number revoked. Takes effect on the next request."""
    return ApiKey.objects.filter(pk__in=list(api_key_ids), revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_key_mark_used(*, api_key: ApiKey) -> None:
    now = timezone.now()
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ApiKey.objects.filter(stale, pk=api_key.pk).update(last_used_at=now)
