"""Thread TTLs (langgraph.json checkpointer.ttl, or `ttl` on thread create/update) applied by the beat sweeper."""

from __future__ import annotations

import logging

from threads.services import thread_sweep_expired

logger = logging.getLogger(__name__)


def threads_sweep_expired(*, batch: int = 100, max_batches: int = 50) -> int:
    """Sweep expired threads in batches (short transactions) until none is left or this run's budget is spent."""
    swept = 0
    for _ in range(max_batches):
        done = thread_sweep_expired(limit=batch)
        swept += done
        if done < batch:
            break
    if swept:
        logger.info("thread TTL sweep handled %d expired threads", swept)
    return swept
