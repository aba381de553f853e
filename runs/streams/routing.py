"""Websocket routes: `/ws` (subscriptions inside) and `/threads/{id}/stream/events` (docs/streaming.md)."""

from django.urls import path

from runs.streams.consumers import StreamConsumer
from runs.streams.thread_consumer import ThreadEventsConsumer

websocket_urlpatterns: list = [
    path("ws", StreamConsumer.as_asgi()),
    path("threads/<str:thread_id>/stream/events", ThreadEventsConsumer.as_asgi()),
]
