"""WebSocket streaming (`ws://<host>/ws`): subscribe to run and thread streams over one socket.

Each subscription reads the same stream logs as SSE, with its own cursor, in its own task; the protocol is
documented in docs/streaming.md. Nothing here fans out through the channel layer: a group_send over capacity
drops messages silently, a private cursor never does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from redis.exceptions import RedisError

from access.users import AuthUser
from agentplatform import stream_log
from agentplatform.db_threads import in_worker_thread
from agentplatform.errors import ApplicationError
from agentplatform.identity import websocket_identity
from agentplatform.ids import parse_uuid
from agentplatform.telemetry.metrics import stream_clients
from runs.streams import stream_reader
from threads.selectors import thread_stream_allowed

logger = logging.getLogger(__name__)
MAX_SUBSCRIPTIONS = 32
# Idle readers wake up this often, to notice a finished run even when its log is gone.
BLOCK_MS = stream_log.MAX_BLOCK_MS


def _modes(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(mode) for mode in value]


async def open_reader(message: dict, user: AuthUser) -> stream_reader.RunLogReader | stream_reader.ThreadLogReader:
    """The reader a subscribe message asks for, if `user` may read it (as the SSE routes check); ApplicationError
    when it names nothing valid, or nothing of theirs."""
    thread_id = parse_uuid(message.get("thread_id"), "thread")
    raw_last = message.get("last_event_id")
    last_event_id = stream_reader.parse_last_event_id(str(raw_last) if raw_last is not None else None)
    if message.get("run_id") is None:
        if not await in_worker_thread(thread_stream_allowed)(thread_id=thread_id, user=user):
            raise ApplicationError("Thread not found")
        modes = stream_reader.parse_thread_stream_modes(
            _modes(message.get("stream_mode") or message.get("stream_modes"))
        )
        return await stream_reader.ThreadLogReader.open(thread_id, last_event_id=last_event_id, stream_modes=modes)
    run = await stream_reader.run_row(parse_uuid(message.get("run_id"), "run"), thread_id, user=user)
    if run is None:
        raise ApplicationError("Run not found")
    modes = _modes(message.get("stream_mode"))
    return await stream_reader.RunLogReader.open(run, last_event_id=last_event_id, stream_modes=modes)


class StreamConsumer(AsyncJsonWebsocketConsumer):
    """Translates subscribe/unsubscribe messages into stream-log readers and their events into messages."""

    async def connect(self) -> None:
        self.subscriptions: dict[str, asyncio.Task] = {}
        # The handshake is this socket's one request: its caller is resolved here, as HTTP requests' are.
        try:
            self.scope["identity"] = await websocket_identity(self.scope)
        except ApplicationError as exc:
            # Accepted only to say why, then closed with 4000 + the HTTP status (4401, 4403): no message is read.
            await self.accept()
            await self.send_json({"type": "error", "id": None, "status": exc.status_code, "detail": exc.detail})
            return await self.close(code=4000 + exc.status_code)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for task in self.subscriptions.values():
            task.cancel()
        self.subscriptions.clear()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if "identity" not in self.scope:
            return None  # a refused handshake (connect): closing, nothing is served
        if not isinstance(content, dict):
            return await self._error(None, "Messages must be JSON objects")
        kind, sub_id = content.get("type"), content.get("id")
        if kind == "subscribe":
            return await self._subscribe(str(sub_id or uuid.uuid4()), content)
        if kind == "unsubscribe":
            task = self.subscriptions.pop(str(sub_id), None)
            if task is not None:
                task.cancel()
            return await self.send_json({"type": "unsubscribed", "id": sub_id})
        return await self._error(sub_id, "Unknown message type: expected 'subscribe' or 'unsubscribe'")

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return json.loads(text_data)
        except ValueError:
            return None

    async def _error(self, sub_id: str | None, detail: str) -> None:
        await self.send_json({"type": "error", "id": sub_id, "detail": detail})

    async def _subscribe(self, sub_id: str, message: dict) -> None:
        if sub_id in self.subscriptions:
            return await self._error(sub_id, "Subscription id already in use")
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            return await self._error(sub_id, f"At most {MAX_SUBSCRIPTIONS} subscriptions per connection")
        try:
            reader = await open_reader(message, self.scope["identity"])
        except ApplicationError as exc:
            return await self._error(sub_id, exc.detail)
        await self.send_json({"type": "subscribed", "id": sub_id})
        self.subscriptions[sub_id] = asyncio.create_task(self._pump(sub_id, reader))

    async def _pump(self, sub_id: str, reader: Any) -> None:
        """Forward a reader's events; the payload is already JSON, so it is spliced in rather than re-encoded."""
        prefix = '{"type":"event","id":' + json.dumps(sub_id)
        clients = stream_clients("websocket")
        clients.inc()
        try:
            while (events := await reader.read(BLOCK_MS)) is not None:
                for event in events:
                    await self.send(
                        text_data=f'{prefix},"event":{json.dumps(event.event)},"event_id":{json.dumps(event.id)},'
                        f'"data":{event.data.decode()}}}'
                    )
            await self.send_json({"type": "end", "id": sub_id})
        except RedisError as exc:
            logger.warning("stream log unavailable: %r", exc)
            await self._error(sub_id, "The stream log is unavailable; subscribe again with last_event_id to resume.")
        finally:
            clients.dec()
            self.subscriptions.pop(sub_id, None)
