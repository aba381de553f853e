"""Websocket routes (filled in by the streaming layer)."""

websocket_urlpatterns: list = []
