"""Dropping a connection whose peer stopped reading.

ASGI can only ask for a close frame, and a close frame waits behind the bytes the peer has not
read: with a peer that never reads, the connection would stay open for good. The server's own
`send` callable (uvicorn's, bound to its protocol object, which holds the transport) is captured
when a WebSocket arrives, so that the connection can be aborted as a last resort. With a server
that offers no transport, aborting is a no-op and its own timeouts apply.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

_server_send: ContextVar[Send | None] = ContextVar("server_send", default=None)

Abort = Callable[[], None]


class CaptureServerSend:
    """Outermost ASGI middleware: remembers the server's `send` for the WebSocket being
    served (a context variable of the connection's task)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        token = _server_send.set(send)
        try:
            await self.app(scope, receive, send)
        finally:
            _server_send.reset(token)


def transport_aborter() -> Abort:
    """A function that aborts the current WebSocket's transport (call it in the connection's
    own task, where the server's `send` was captured). Duck-typed: uvloop's transports have
    `abort()` without being `asyncio.Transport` instances."""
    protocol = getattr(_server_send.get(), "__self__", None)
    abort_transport = getattr(getattr(protocol, "transport", None), "abort", None)

    def abort() -> None:
        # Also when already closing: a graceful close would wait for the unread bytes.
        if callable(abort_transport):
            abort_transport()

    return abort
