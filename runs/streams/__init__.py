"""Streaming: readers of the event log, the SSE framing, stream-mode mapping, the websocket consumer, /wait waiting."""
