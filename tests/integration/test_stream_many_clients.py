"""Many stream clients on one API process: thread and run streams over SSE and websocket subscriptions are all
served, none gets a 5xx, and a run started meanwhile still completes in about its usual time.

The default form opens STREAM_CLIENTS=300 clients, three times the Redis client pool of one process (redis-py's
default of 100 connections), which a reader holding its own connection while it waits would exhaust. The long
form of the fault suite: `STREAM_CLIENTS=1000 python -m pytest tests/integration/test_stream_many_clients.py -s`.
Uses its own Redis, so that `CLIENT LIST` counts this stack's connections only.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis as redis_lib
from langgraph_sdk import get_client
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from agentplatform.embedded import EmbeddedRedis, free_port
from tests.conftest import INTEGRATION_ENV
from tests.stack import Stack

pytestmark = pytest.mark.integration

CLIENTS = int(os.environ.get("STREAM_CLIENTS", "300"))
THREADS = 10
HI = {"messages": [{"role": "user", "content": "hi"}]}
# Clients connect this many at a time, as a crowd of browsers would rather than one SYN burst (listen backlog 50).
OPENING = 100
SERVED_WITHIN_SECONDS = 90


@dataclass
class Client:
    kind: str
    status: int | None = None
    served: asyncio.Event = field(default_factory=asyncio.Event)
    close: object = None
    error: str | None = None
    reading: asyncio.Task | None = None


@pytest.fixture
def own_stack():
    root = Path(tempfile.mkdtemp(prefix="agentplatform-many-clients-"))
    redis = EmbeddedRedis(root / "redis", free_port()).start()
    stack = Stack(base_env={**INTEGRATION_ENV, "REDIS_URI": redis.uri}, log_dir=root)
    stack.create_database()
    stack.start_api_and_workers("worker")
    yield stack, redis
    stack.stop_all()
    redis.stop()


async def sse_client(url: str, path: str, kind: str, opening: asyncio.Semaphore) -> Client:
    """A raw HTTP/1.1 SSE client: records the status, then marks itself served at its first event or heartbeat."""
    client = Client(kind)
    parts = urlsplit(url)
    async with opening:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n\r\n".encode())
        await writer.drain()
        client.status = int((await reader.readline()).split()[1])
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
    client.close = writer.close

    async def read_body() -> None:
        seen = b""
        while chunk := await reader.read(65536):
            seen = (seen + chunk)[-65536:]
            if b"event: " in seen or b": heartbeat" in seen:
                client.served.set()
                return

    if client.status == 200:
        client.reading = asyncio.ensure_future(read_body())
    return client


async def ws_client(url: str, subscription: dict, opening: asyncio.Semaphore) -> Client:
    """A websocket client with one subscription: served at its first event (or end) message."""
    client = Client("ws " + ("run" if "run_id" in subscription else "thread"))
    async with opening:
        ws = await connect(url.replace("http://", "ws://") + "/ws", open_timeout=60)
        await ws.send(json.dumps({"type": "subscribe", "id": "s", **subscription}))
        try:
            reply = json.loads(await ws.recv())
        except ConnectionClosed as exc:  # 1011: the consumer failed, the websocket form of a 500
            reply = {"type": "closed", "code": exc.rcvd.code if exc.rcvd else None}
    client.status = 200 if reply.get("type") == "subscribed" else 500
    client.error = None if client.status == 200 else json.dumps(reply)
    client.close = ws.close

    async def read_messages() -> None:
        try:
            async for raw in ws:
                if json.loads(raw).get("type") in ("event", "end"):
                    client.served.set()
                    return
        except ConnectionClosed:
            pass

    client.reading = asyncio.ensure_future(read_messages())
    return client


async def timed_run(client, thread_id: str) -> float:
    started = time.perf_counter()
    await client.runs.wait(thread_id, "echo", input=HI)
    return time.perf_counter() - started


def redis_clients(uri: str) -> tuple[int, int]:
    """Connections to Redis (`CLIENT LIST`), and how many of them are blocked in a command (XREAD, BRPOP)."""
    clients = redis_lib.Redis.from_url(uri).client_list()
    return len(clients), sum("b" in client["flags"] for client in clients)


async def transactions_per_second(stack: Stack, seconds: float = 4.0) -> float:
    """The stack's database transactions per second (pg_stat_database, which backends flush about once a second)."""
    query = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
    before = (await asyncio.to_thread(stack.sql, query))[0][0]
    await asyncio.sleep(seconds)
    return ((await asyncio.to_thread(stack.sql, query))[0][0] - before) / seconds


async def scenario(stack: Stack, redis_uri: str) -> dict:
    sdk = get_client(url=stack.url)
    threads = [(await sdk.threads.create())["thread_id"] for _ in range(THREADS)]
    baseline = [await timed_run(sdk, (await sdk.threads.create())["thread_id"]) for _ in range(3)]
    busy = (await sdk.threads.create())["thread_id"]
    long_run = await sdk.runs.create(busy, "sleepy", input={"seconds": 0.5, "steps": 400}, stream_mode="custom")
    idle_connections = redis_clients(redis_uri)
    idle_queries = await transactions_per_second(stack)

    opening = asyncio.Semaphore(OPENING)
    run_path = f"/threads/{busy}/runs/{long_run['run_id']}/stream"
    run_subscription = {"thread_id": busy, "run_id": long_run["run_id"]}
    openers = []
    for n in range(CLIENTS):
        thread_id = threads[n % THREADS]
        if n % 4 in (0, 1):
            openers.append(sse_client(stack.url, f"/threads/{thread_id}/stream", "sse thread", opening))
        elif n % 8 == 2:
            openers.append(sse_client(stack.url, run_path, "sse run", opening))
        elif n % 8 == 6:
            openers.append(ws_client(stack.url, run_subscription, opening))
        else:
            openers.append(ws_client(stack.url, {"thread_id": thread_id}, opening))
    started = time.perf_counter()
    clients = await asyncio.gather(*openers)
    opened_in = time.perf_counter() - started
    loaded_connections = redis_clients(redis_uri)
    loaded_queries = await transactions_per_second(stack)  # every client open and idle but a quarter

    # Runs started while every client is connected (and the long run's events go to a quarter of them), on threads
    # of their own as the baseline's were; then one run on each followed thread feeds the thread streams.
    during = [await timed_run(sdk, (await sdk.threads.create())["thread_id"]) for _ in range(5)]
    fed = [await timed_run(sdk, thread_id) for thread_id in threads]
    waiting = [c for c in clients if c.status == 200]
    await asyncio.wait([asyncio.ensure_future(c.served.wait()) for c in waiting], timeout=SERVED_WITHIN_SECONDS)
    peak_connections = redis_clients(redis_uri)
    await sdk.runs.cancel(busy, long_run["run_id"])
    for c in clients:
        if c.close is not None:
            result = c.close()
            if asyncio.iscoroutine(result):
                await result
    return {
        "clients": clients,
        "opened_in": opened_in,
        "baseline": statistics.median(baseline),
        "during": statistics.median(during),
        "worst": max(during),
        "fed": statistics.median(fed),
        "redis": (idle_connections, loaded_connections, peak_connections),
        "postgres": (idle_queries, loaded_queries),
    }


def test_many_stream_clients_on_one_api_process_are_all_served(own_stack):
    stack, redis = own_stack
    figures = asyncio.run(scenario(stack, redis.uri))
    clients = figures["clients"]
    statuses: dict = {}
    for c in clients:
        statuses.setdefault(c.kind, []).append(c.status)
    opened = sum(c.status == 200 for c in clients)
    served = sum(c.served.is_set() for c in clients)
    server_errors = sum(c.status is not None and c.status >= 500 for c in clients)
    idle, loaded, peak = figures["redis"]
    print(
        f"\nmany stream clients: {CLIENTS} clients ({', '.join(f'{k} {len(v)}' for k, v in sorted(statuses.items()))})"
        f" opened in {figures['opened_in']:.1f} s: {opened} opened, {served} served, {server_errors} 5xx;"
        f" run latency {figures['baseline'] * 1000:.0f} ms idle, {figures['during'] * 1000:.0f} ms median"
        f" ({figures['worst'] * 1000:.0f} ms worst) under load, {figures['fed'] * 1000:.0f} ms median for a run"
        f" streamed to {CLIENTS * 3 // 4 // THREADS} followers of its thread;"
        f" Redis connections (blocked) {idle[0]} ({idle[1]}) idle, {loaded[0]} ({loaded[1]}) with every client open,"
        f" {peak[0]} ({peak[1]}) at the end; Postgres transactions/s {figures['postgres'][0]:.0f} before the"
        f" clients, {figures['postgres'][1]:.0f} with them open"
    )
    assert server_errors == 0, [c.error or c.status for c in clients if c.status != 200][:5]
    assert opened == CLIENTS
    assert served == CLIENTS, {k: sum(not c.served.is_set() for c in clients if c.kind == k) for k in statuses}
    # Timing is only checked loosely (the machine is shared): a reader per connection cost 50 times the latency.
    assert figures["during"] < max(1.0, 5 * figures["baseline"])
