"""Run stream-log writes made outside a worker's event loop.

A run cancelled while pending, or failed by the sweeper, never reaches a worker; its waiters still need the
log's done event. Workers also listen for the cancel message to react faster than their database poll.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.conf import settings

from agentplatform import stream_log
from agentplatform.redis_clients import sync_redis

logger = logging.getLogger(__name__)


def finish_sync(run_id: UUID | str, status: str, result: Any, *, error: dict | None = None) -> None:
    """Append (an `error` event and) the done event to a run's log. Best effort: Redis may be down."""
    key = stream_log.run_stream_key(run_id)
    try:
        pipe = sync_redis().pipeline(transaction=False)
        if error is not None:
            pipe.xadd(key, {"event": "error", "data": stream_log.encode(error)})
        pipe.xadd(
            key, {"event": stream_log.DONE_EVENT, "data": stream_log.encode({"status": status, "result": result})}
        )
        pipe.expire(key, settings.RESUMABLE_STREAM_TTL_SECONDS)
        pipe.execute()
    except Exception:
        logger.warning("could not write the end of run %s to its stream log", run_id, exc_info=True)
