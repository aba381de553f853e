"""Thread TTLs (langgraph.json checkpointer.ttl, or `ttl` on thread create/update) applied by the beat sweeper."""

from __future__ import annotations

import logging

from agentplatform.graphs import get_registry
from threads.services import thread_sweep_expired

logger = logging.getLogger(__name__)

DEFAULT_SWEEP_LIMIT = 10_000  # the official default of checkpointer.ttl.sweep_limit


def _sweep_limit() -> int:
    ttl = get_registry().config.thread_ttl
    limit = ttl.get("sweep_limit")
    return limit if isinstance(limit, int) and limit > 0 else DEFAULT_SWEEP_LIMIT


def threads_sweep_expired(*, batch: int = 100, limit: int | None = None) -> int:
    """Sweep expired threads in batches (short transactions) until none is left or `limit` (sweep_limit) is reached."""
    limit = limit or _sweep_limit()
    swept = 0
    while swept < limit:
        wanted = min(batch, limit - swept)
        done = thread_sweep_expired(limit=wanted)
        swept += done
        if done < wanted:
            break
    if swept:
        logger.info("thread TTL sweep handled %d expired threads", swept)
    return swept
