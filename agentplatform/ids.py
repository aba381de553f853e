"""Identifiers: UUIDv7 for threads and runs (time-ordered, as the official server uses)."""

from __future__ import annotations

import os
import time
import uuid


def uuid7() -> uuid.UUID:
    unix_ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= (rand >> 64 & 0xFFF) << 64
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def parse_uuid(value: object, what: str) -> uuid.UUID:
    """A UUID from a path or body value; invalid ones raise InvalidInput with the official wording."""
    from agentplatform.errors import InvalidInput

    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise InvalidInput(f"Invalid {what} ID: must be a UUID") from None
