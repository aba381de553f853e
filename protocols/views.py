"""The MCP and A2A endpoints: plain async Django views (they answer in their protocols' words, not `{"detail"}`),
behind the same identity middleware as every route; `request.identity` is the caller.

They only translate HTTP: the body, the Accept header, the status codes and SSE framing; protocols.mcp and
protocols.a2a do the work.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from agentplatform import jsonbody, serde
from agentplatform.edge import async_endpoint, request_headers, run_headers
from agentplatform.errors import InvalidInput
from protocols import a2a, jsonrpc, mcp
from runs.streams import sse

_MCP_METHODS = ("DELETE", "HEAD", "POST", "GET")  # the official Allow header, in its order


def _mcp_error(message: str, status: int = 400) -> HttpResponse:
    # The official MCP errors are Python's json.dumps, spaces included.
    return HttpResponse(json.dumps({"error": message}), status=status, content_type="application/json")


def _json(body: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(serde.dumps(body), status=status, content_type="application/json")


def _rpc_response(request_id: object, outcome: jsonrpc.Outcome) -> HttpResponse:
    return _json(jsonrpc.envelope(request_id, outcome))


def _body(request: HttpRequest) -> object:
    """The parsed body, or InvalidInput when it is not JSON (the protocols answer that themselves)."""
    return jsonbody.loads(request.body)


@async_endpoint(*_MCP_METHODS)
async def mcp_endpoint(request: HttpRequest) -> HttpResponse:
    """POST a JSON-RPC message; GET (a server-to-client stream) is 405 and DELETE (end a session) 404, as
    officially: the server is stateless."""
    if request.method in ("GET", "HEAD"):
        return HttpResponse(status=405)
    if request.method == "DELETE":
        return HttpResponse(status=404)
    try:
        message = _body(request)
    except InvalidInput:
        return _mcp_error("Invalid JSON")
    accept = request.headers.get("Accept", "")
    if "application/json" not in accept and "text/event-stream" not in accept:
        return _mcp_error("Accept header must include application/json or text/event-stream")
    if not isinstance(message, dict):
        return _mcp_error("Invalid message format.")
    if message.get("jsonrpc") != "2.0":
        return _mcp_error("Invalid JSON-RPC message. Missing or invalid jsonrpc version.")
    if message.get("id") is not None and message.get("method"):
        outcome = await mcp.handle(message, user=request.identity, headers=run_headers(request))
        return _rpc_response(message["id"], outcome)
    if message.get("id") is not None or message.get("method"):
        return HttpResponse(status=202)  # a response or a notification: nothing to answer
    return _mcp_error(
        "Invalid message format. A message is to be either a JSON-RPC request, response, or notification."
        "Please see the Messages section of the Streamable HTTP RFC for more information."
    )


def _a2a_error(message: str, status: int = 400) -> HttpResponse:
    return _json({"error": message}, status)


def _sse(events: AsyncIterator[dict]) -> StreamingHttpResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b""  # Daphne sends the headers with the first chunk: send them now
        async for payload in events:
            yield sse.frame("message", a2a.sse_payload(payload))

    return StreamingHttpResponse(body(), content_type="text/event-stream", headers=dict(sse.HEADERS))


@async_endpoint("GET", "POST", "DELETE")
async def a2a_endpoint(request: HttpRequest, assistant_id: str) -> HttpResponse:
    """POST a JSON-RPC request to the assistant's agent; GET is its agent card; DELETE is 405, as officially."""
    if request.method == "GET":
        return await agent_card(request, assistant_id)
    if request.method == "DELETE":
        return HttpResponse(status=405)
    try:
        message = _body(request)
    except InvalidInput:
        return _rpc_response(None, jsonrpc.error(jsonrpc.PARSE_ERROR, "Invalid JSON payload"))
    call = a2a.parse_call(message)
    if isinstance(call, a2a.Refusal) and call.early:
        return _rpc_response(call.request_id, call.outcome)
    streaming = isinstance(call, a2a.Call) and call.streaming
    wanted = "text/event-stream" if streaming else "application/json"
    if not jsonrpc.accepts(request.headers.get("Accept") or "", wanted):
        return _a2a_error(f"Accept header must include {wanted}{' for streaming' if streaming else ''}")
    if isinstance(call, a2a.Refusal):
        return _rpc_response(call.request_id, call.outcome) if call.outcome else HttpResponse(status=202)
    if (refusal := a2a.refuse_assistant_id(call, assistant_id)) is not None:
        return _json(refusal)
    context = a2a.CallContext(
        assistant_id=str(uuid.UUID(assistant_id)),
        user=request.identity,
        headers=run_headers(request),
        history_scope_header=request.headers.get(a2a.HISTORY_SCOPE_HEADER),
        base_url=_base_url(request, assistant_id),
    )
    if streaming:
        return _sse(a2a.stream(call, context))
    return _json(await a2a.dispatch(call, context))


def _base_url(request: HttpRequest, assistant_id: str) -> str:
    """Where this server is, as the caller reached it (behind a proxy: X-Forwarded-Proto)."""
    scheme = request.headers.get("X-Forwarded-Proto") or request.scheme
    path = request.path.removesuffix("/.well-known/agent-card.json").removesuffix("/.well-known/agent.json")
    path = path.removesuffix("/").removesuffix(f"/a2a/{assistant_id}")
    return f"{scheme}://{request.get_host()}{path}"


async def _card_response(request: HttpRequest, assistant_id: str) -> HttpResponse:
    card = await a2a.agent_card(
        assistant_id=assistant_id,
        base_url=_base_url(request, assistant_id),
        user=request.identity,
        headers=request_headers(request),
    )
    return _json(card, 400 if "error" in card else 200)


@async_endpoint("GET")
async def agent_card(request: HttpRequest, assistant_id: str) -> HttpResponse:
    """GET /a2a/{assistant_id}/.well-known/agent-card.json (and agent.json): the assistant's A2A agent card."""
    return await _card_response(request, assistant_id)


@async_endpoint("GET")
async def root_agent_card(request: HttpRequest) -> HttpResponse:
    """GET /.well-known/agent-card.json?assistant_id=...: an assistant's card at the domain root."""
    assistant_id = request.GET.get("assistant_id") or a2a.default_assistant_id()
    if not assistant_id:
        return _json(jsonrpc.error(jsonrpc.INVALID_PARAMS, "Missing required query parameter: assistant_id"), 400)
    return await _card_response(request, assistant_id)
