"""Websocket routes: one endpoint, subscriptions inside (protocol in docs/streaming.md)."""

from django.urls import path

from runs.streams.consumers import StreamConsumer

websocket_urlpatterns: list = [path("ws", StreamConsumer.as_asgi())]
