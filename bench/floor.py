"""The floor: the benchmark graph invoked in-process with LangGraph's Postgres checkpointer, no server at all.

python bench/floor.py [--runs 500] [--concurrency 16] [--durability async|sync|exit]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentplatform.embedded import EmbeddedPostgres, free_port


async def measure(uri: str, runs: int, concurrency: int, durability: str) -> None:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    sys.path.insert(0, str(Path(__file__).parent))
    from graph import graph

    pool = AsyncConnectionPool(uri, kwargs={"autocommit": True, "row_factory": dict_row}, max_size=10, open=False)
    await pool.open()
    saver = AsyncPostgresSaver(pool)
    await saver.setup()
    bound = graph.copy(update={"checkpointer": saver})

    async def one() -> float:
        start = time.perf_counter()
        config = {"configurable": {"thread_id": str(uuid.uuid4())}}
        await bound.ainvoke({"value": 1}, config, durability=durability)
        return time.perf_counter() - start

    for _ in range(20):
        await one()
    latencies = [await one() for _ in range(runs)]
    print(f"sequential: p50 {statistics.median(latencies) * 1000:.1f} ms, {runs / sum(latencies):.0f} runs/s")
    sem = asyncio.Semaphore(concurrency)

    async def bounded() -> float:
        async with sem:
            return await one()

    start = time.perf_counter()
    await asyncio.gather(*(bounded() for _ in range(runs)))
    elapsed = time.perf_counter() - start
    print(f"concurrency {concurrency}: {runs / elapsed:.0f} runs/s")
    await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--durability", default="async", choices=["async", "sync", "exit"])
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="agentplatform-floor-"))
    pg = EmbeddedPostgres(data, free_port(), durable=False).start()
    try:
        asyncio.run(measure(pg.uri, args.runs, args.concurrency, args.durability))
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
