"""GET /threads/{thread_id}/storage: the bytes a thread's checkpoints occupy in LangGraph's Postgres tables, as
stored (checkpoint rows, channel values per channel, pending writes), in the official ThreadStorage shape."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection

from access.users import AuthUser
from threads.selectors import thread_get

_CHECKPOINTS = """
SELECT count(*), coalesce(sum(pg_column_size(checkpoint) + pg_column_size(metadata)), 0)
FROM checkpoints WHERE thread_id = %s"""
_CHANNELS = """
SELECT channel, count(*), coalesce(sum(octet_length(blob)), 0)
FROM checkpoint_blobs WHERE thread_id = %s GROUP BY channel ORDER BY channel"""
_WRITES = "SELECT count(*), coalesce(sum(octet_length(blob)), 0) FROM checkpoint_writes WHERE thread_id = %s"


def thread_storage(*, thread_id: str | uuid.UUID, user: AuthUser | None = None) -> dict[str, Any]:
    """404 for an unknown thread, or one `user` may not read, as for every thread route."""
    thread = thread_get(thread_id=thread_id, user=user)
    key = str(thread.thread_id)
    with connection.cursor() as cursor:
        cursor.execute(_CHECKPOINTS, [key])
        checkpoint_count, checkpoint_bytes = cursor.fetchone()
        cursor.execute(_CHANNELS, [key])
        by_channel = {channel: {"versions": versions, "bytes": int(size)} for channel, versions, size in cursor}
        cursor.execute(_WRITES, [key])
        write_count, write_bytes = cursor.fetchone()
    channel_bytes = sum(entry["bytes"] for entry in by_channel.values())
    return {
        "thread_id": key,
        "total_bytes": int(checkpoint_bytes) + channel_bytes + int(write_bytes),
        "checkpoints": {"count": checkpoint_count, "bytes": int(checkpoint_bytes)},
        "channel_values": {
            "count": sum(entry["versions"] for entry in by_channel.values()),
            "bytes": channel_bytes,
            "by_channel": by_channel,
        },
        "pending_writes": {"count": write_count, "bytes": int(write_bytes)},
    }
