"""Thread-centric streaming over HTTP (the protocol of langgraph_sdk's `client.threads.stream()`):

- `POST /threads/{thread_id}/commands`: one command in, its envelope out (runs.streams.thread_commands);
- `POST /threads/{thread_id}/stream/events`: an SSE stream of the thread's events for the subscription in the
  body (runs.streams.thread_events). It never ends by itself: the client closes it.

Both answer a thread that exists but is not the caller's with 404, like an unknown id on the other thread routes.
The websocket form of the stream is runs.streams.thread_consumer.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from agentplatform import jsonbody
from agentplatform.api_errors import json_error
from agentplatform.db_threads import in_worker_thread
from agentplatform.edge import async_endpoint, run_headers
from agentplatform.ids import parse_uuid
from runs.api.stream_views import sse_body
from runs.streams import sse, thread_commands, thread_events
from threads.selectors import thread_stream_allowed

INVALID_JSON = "Invalid JSON body"


def _body(request: HttpRequest) -> object:
    """The JSON body (StrictInputMiddleware checked it already), or INVALID_JSON when there is none."""
    return jsonbody.loads(request.body) if request.body else INVALID_JSON


@async_endpoint("POST")
async def thread_command(request: HttpRequest, thread_id: str) -> HttpResponse:
    """POST /threads/{thread_id}/commands."""
    tid = parse_uuid(thread_id, "thread")
    payload = _body(request)
    if payload is INVALID_JSON:
        return json_error(400, INVALID_JSON)
    refused = thread_commands.malformed(payload)
    if refused is not None:
        return JsonResponse(refused, status=400)
    answer = await thread_commands.thread_command(
        thread_id=tid, command=payload, user=request.identity, headers=run_headers(request)
    )
    return JsonResponse(answer)


@async_endpoint("POST")
async def thread_event_stream(request: HttpRequest, thread_id: str) -> HttpResponse:
    """POST /threads/{thread_id}/stream/events."""
    tid = parse_uuid(thread_id, "thread")
    payload = _body(request)
    if payload is INVALID_JSON:
        return json_error(400, INVALID_JSON)
    subscription = thread_events.subscription_from(payload)
    if not await in_worker_thread(thread_stream_allowed)(thread_id=tid, user=request.identity):
        return json_error(404, f"Thread with ID {tid} not found")
    reader = await thread_events.ThreadEventReader.open(tid, subscription)
    body = sse_body(reader, with_ids=True)
    return StreamingHttpResponse(body, content_type=sse.CONTENT_TYPE, headers=sse.HEADERS)
