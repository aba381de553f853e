"""Reads of API keys."""

from __future__ import annotations

import hashlib
import hmac

from access.models import ApiKey

KEY_PREFIX = "agp_"  # marks the key's kind in logs and secret scanners
PREFIX_LENGTH = len(KEY_PREFIX) + 8


def api_key_digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_find(*, raw_key: str) -> ApiKey | None:
    """The active key `raw_key` is, or None (unknown, malformed or revoked)."""
    if not raw_key.startswith(KEY_PREFIX) or len(raw_key) <= PREFIX_LENGTH:
        return None
    digest = api_key_digest(raw_key)
    for candidate in ApiKey.objects.filter(prefix=raw_key[:PREFIX_LENGTH], revoked_at__isnull=True):
        if hmac.compare_digest(candidate.key_hash, digest):
            return candidate
    return None
