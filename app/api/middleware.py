"""Request id, one access-log line per request, and HTTP latency by route.

Pure ASGI (not BaseHTTPMiddleware) so WebSocket scopes pass through untouched and the hot path
pays only a context-variable set and a histogram observe.
"""

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.metrics import HTTP_LATENCY
from app.utils.id_generator import generate_request_id
from app.utils.logger import request_id_var

logger = logging.getLogger("app.access")
REQUEST_ID_HEADER = b"x-request-id"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER, b"").decode()
        request_id = incoming[:64] if incoming.isalnum() else generate_request_id()
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            HTTP_LATENCY.labels(scope["method"], route, str(status)).observe(elapsed)
            logger.info("%s %s %d %.1fms", scope["method"], scope["path"], status, elapsed * 1000)
            request_id_var.reset(token)


def _route_template(scope: Scope) -> str:
    """The matched route's path template (low cardinality), set on the scope by the router."""
    return str(getattr(scope.get("route"), "path", None) or "unmatched")
