"""The websocket form of the thread-centric stream (`ws://<host>/threads/{thread_id}/stream/events`).

Every frame the client sends is a command (runs.streams.thread_commands); `subscription.subscribe` starts a
reader (runs.streams.thread_events) for its filter and `since`, `subscription.unsubscribe` stops it. Events go out
as bare JSON frames; an event several subscriptions match goes out once. The handshake is authenticated like
every request, and a thread that is not the caller's is refused as on HTTP (close code 4404).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import uuid
from typing import Any

import orjson
from channels.generic.websocket import AsyncWebsocketConsumer
from redis.exceptions import RedisError

from agentplatform import stream_log
from agentplatform.db_threads import in_worker_thread
from agentplatform.errors import ApplicationError, NotFound
from agentplatform.identity import websocket_identity
from agentplatform.ids import parse_uuid
from runs.streams import thread_commands, thread_events
from threads.selectors import thread_stream_allowed

logger = logging.getLogger(__name__)
MAX_SUBSCRIPTIONS = 32
BLOCK_MS = stream_log.MAX_BLOCK_MS
# How many delivered event ids a socket remembers, so that overlapping subscriptions send an event once.
DEDUP_WINDOW = 2048


def _headers(scope: dict) -> dict[str, str]:
    return {name.decode().lower(): value.decode() for name, value in scope.get("headers", [])}


class ThreadEventsConsumer(AsyncWebsocketConsumer):
    """Translates command frames into commands and subscriptions, and subscriptions' events into frames."""

    async def connect(self) -> None:
        self.subscriptions: dict[str, asyncio.Task] = {}
        self.delivered: collections.OrderedDict[str, None] = collections.OrderedDict()
        await self.accept()
        try:
            self.thread_id = parse_uuid(self.scope["url_route"]["kwargs"]["thread_id"], "thread")
            self.identity = await websocket_identity(self.scope)
            if not await in_worker_thread(thread_stream_allowed)(thread_id=self.thread_id, user=self.identity):
                raise NotFound(f"Thread with ID {self.thread_id} not found")
        except ApplicationError as exc:
            await self._send({"type": "error", "id": None, "error": "unknown_error", "message": exc.detail})
            return await self.close(code=4000 + exc.status_code)
        self.ready = True

    async def disconnect(self, code: int) -> None:
        for task in getattr(self, "subscriptions", {}).values():
            task.cancel()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not getattr(self, "ready", False):
            return None
        try:
            command = orjson.loads(text_data if text_data is not None else bytes_data or b"")
        except orjson.JSONDecodeError:
            return await self._send(
                thread_commands.error(None, "invalid_argument", "Protocol commands must be valid JSON.")
            )
        refused = thread_commands.malformed(command)
        await self._send(refused if refused is not None else await self._answer(command))

    async def _answer(self, command: dict) -> dict[str, Any]:
        method, command_id, params = command["method"], command["id"], command.get("params")
        params = params if isinstance(params, dict) else {}
        if method == "subscription.subscribe":
            return await self._subscribe(command_id, params)
        if method == "subscription.unsubscribe" and params.get("subscription_id") in self.subscriptions:
            self.subscriptions.pop(params["subscription_id"]).cancel()
            return thread_commands.success(command_id, {})
        try:
            return await thread_commands.thread_command(
                thread_id=self.thread_id, command=command, user=self.identity, headers=_headers(self.scope)
            )
        except ApplicationError as exc:  # what run_create refused: no HTTP status to carry it here
            return thread_commands.error(command_id, "unknown_error", f"{exc.status_code}: {exc.detail}")

    async def _subscribe(self, command_id: int, params: dict) -> dict[str, Any]:
        refused = thread_commands.subscription_error(command_id, params)
        if refused is not None:
            return refused
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            return thread_commands.error(command_id, "invalid_argument", "Too many subscriptions on this socket.")
        reader = await thread_events.ThreadEventReader.open(self.thread_id, thread_events.subscription_from(params))
        sub_id = str(uuid.uuid4())
        # The answer goes out before the subscription's first event (the task starts on the next loop turn).
        self.subscriptions[sub_id] = asyncio.create_task(self._pump(sub_id, reader))
        return thread_commands.success(command_id, {"subscription_id": sub_id, "replayed_events": 0})

    async def _pump(self, sub_id: str, reader: thread_events.ThreadEventReader) -> None:
        try:
            await thread_events.pump(reader, self._deliver, BLOCK_MS)
        except RedisError as exc:
            logger.warning("stream log unavailable: %r", exc)
            await self.close(code=1011)
        finally:
            self.subscriptions.pop(sub_id, None)

    async def _deliver(self, event: thread_events.WireEvent) -> None:
        if event.event_id in self.delivered:
            return
        self.delivered[event.event_id] = None
        if len(self.delivered) > DEDUP_WINDOW:
            self.delivered.popitem(last=False)
        await self.send(text_data=event.data.decode())

    async def _send(self, message: dict) -> None:
        await self.send(text_data=orjson.dumps(message).decode())
