"""Request id, request body limit, one access-log line per request, and HTTP latency by route.

Pure ASGI (not BaseHTTPMiddleware) so WebSocket scopes pass through untouched and the hot path
pays only a context-variable set and a histogram observe.
"""

import logging
import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import envelope, internal_error_body
from app.metrics import HTTP_LATENCY
from app.utils.id_generator import generate_request_id
from app.utils.logger import request_id_var

logger = logging.getLogger("app.access")
REQUEST_ID_HEADER = b"x-request-id"
MAX_BODY_BYTES = 1024 * 1024
"""Far above any valid request (a 5000-character message is at most 20 KB of JSON)."""
DISCARD_BYTES = 16 * MAX_BODY_BYTES
STREAMED_UPLOADS = frozenset({"/api/attachments"})
"""Routes that read their body as a stream and enforce their own, larger limit while reading
(SPEC §12: ATTACHMENT_MAX_MB): the limit here would buffer or refuse them."""


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(REQUEST_ID_HEADER, b"")
        # bytes.isalnum() is ASCII-only: any other byte (not even UTF-8) gets a fresh id.
        request_id = (
            incoming.decode("ascii") if 0 < len(incoming) <= 64 and incoming.isalnum() else None
        ) or generate_request_id()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        status_sent = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, status_sent
            if message["type"] == "http.response.start":
                status, status_sent = message["status"], True
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            bounded = (
                receive
                if scope["path"] in STREAMED_UPLOADS
                else await _bounded_receive(headers, receive)
            )
            if bounded is None:
                await _too_large(send_with_id)
            else:
                await self.app(scope, bounded, send_with_id)
        except Exception:
            # Inside the request context, so the log line and the 500 carry the request id.
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if status_sent:
                raise
            await _json_response(send_with_id, 500, internal_error_body())
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            HTTP_LATENCY.labels(scope["method"], route, str(status)).observe(elapsed)
            logger.info("%s %s %d %.1fms", scope["method"], scope["path"], status, elapsed * 1000)
            request_id_var.reset(token)


async def _bounded_receive(headers: dict[bytes, bytes], receive: Receive) -> Receive | None:
    """`receive` for a body within MAX_BODY_BYTES, or None for a larger one (413), whose rest
    is then read and dropped.

    A declared Content-Length is trusted (the server enforces it); a body without one
    (chunked) is read here, up to the limit, and replayed to the app.
    """
    declared = headers.get(b"content-length", b"")
    if declared.isdigit():
        if int(declared) <= MAX_BODY_BYTES:
            return receive
        await _discard_body(receive)
        return None
    if b"transfer-encoding" not in headers:
        return receive
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > MAX_BODY_BYTES:
            if message.get("more_body", False):
                await _discard_body(receive)
            return None
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _too_large(send: Send) -> None:
    body = orjson.dumps(
        envelope("PAYLOAD_TOO_LARGE", f"Request bodies are limited to {MAX_BODY_BYTES} bytes")
    )
    await _json_response(send, 413, body, close=True)


async def _json_response(send: Send, status: int, body: bytes, *, close: bool = False) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _discard_body(receive: Receive) -> None:
    """Read and drop the rest of a refused body (up to DISCARD_BYTES) before answering, so that
    the client, still uploading, is not reset before it reads the 413."""
    discarded = 0
    while discarded <= DISCARD_BYTES:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        discarded += len(message.get("body", b""))


def _route_template(scope: Scope) -> str:
    """The matched route's path template (low cardinality), set on the scope by the router."""
    return str(getattr(scope.get("route"), "path", None) or "unmatched")
