"""The floor: the benchmark graph invoked in-process with LangGraph's Postgres checkpointer, no server at all.

python bench/floor.py [--runs 500] [--concurrency 16] [--durability async|sync|exit]

bench/compare.py runs it too, after both servers have stopped, and prints it under their table.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentplatform.embedded import EmbeddedPostgres, free_port, remove_data


@dataclass
class Floor:
    durability: str
    concurrency: int
    sequential_p50_ms: float
    sequential_rate: float
    concurrent_rate: float


async def measure(uri: str, runs: int, concurrency: int, durability: str) -> Floor:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    from bench.graph import noop

    pool = AsyncConnectionPool(uri, kwargs={"autocommit": True, "row_factory": dict_row}, max_size=10, open=False)
    await pool.open()
    saver = AsyncPostgresSaver(pool)
    await saver.setup()
    bound = noop.copy(update={"checkpointer": saver})

    async def one() -> float:
        start = time.perf_counter()
        config = {"configurable": {"thread_id": str(uuid.uuid4())}}
        await bound.ainvoke({"value": 1}, config, durability=durability)
        return time.perf_counter() - start

    for _ in range(20):
        await one()
    latencies = [await one() for _ in range(runs)]
    sem = asyncio.Semaphore(concurrency)

    async def bounded() -> float:
        async with sem:
            return await one()

    start = time.perf_counter()
    await asyncio.gather(*(bounded() for _ in range(runs)))
    elapsed = time.perf_counter() - start
    await pool.close()
    return Floor(durability, concurrency, statistics.median(latencies) * 1000, runs / sum(latencies), runs / elapsed)


def floor(runs: int = 500, concurrency: int = 16, durability: str = "async") -> Floor:
    """On its own throwaway PostgreSQL (fsync off: the floor is what the checkpointer itself costs)."""
    data = Path(tempfile.mkdtemp(prefix="agentplatform-floor-"))
    pg = EmbeddedPostgres(data, free_port(), durable=False).start()
    try:
        return asyncio.run(measure(pg.uri, runs, concurrency, durability))
    finally:
        pg.stop()
        remove_data(data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--durability", default="async", choices=["async", "sync", "exit"])
    args = parser.parse_args()
    result = floor(args.runs, args.concurrency, args.durability)
    print(f"sequential: p50 {result.sequential_p50_ms:.1f} ms, {result.sequential_rate:.0f} runs/s")
    print(f"concurrency {result.concurrency}: {result.concurrent_rate:.0f} runs/s")


if __name__ == "__main__":
    main()
