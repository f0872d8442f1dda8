"""Local WebSocket connections: several per user, each with a bounded queue and its own writer.

A connection whose queue is full is a slow consumer: it is closed with 4008 (it reconnects and
syncs) instead of making anyone wait. The connections of a revoked session are closed with 4401
(`close_sessions`). The close frame waits behind what the peer has not read
yet; a peer that does not make room for it within `CLOSE_GRACE` seconds is cut off. The manager
never awaits a socket on the caller's behalf.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from starlette.websockets import WebSocket

from app.metrics import WS_CLOSED_SLOW, WS_CONNECTIONS
from app.websocket.transport import Abort

logger = logging.getLogger(__name__)

CLOSE_SLOW_CONSUMER = 4008
CLOSE_GRACE = 5.0


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        user_id: str,
        connection_id: str,
        *,
        session_id: str | None = None,
        queue_size: int,
        close_grace: float,
        abort: Abort,
    ) -> None:
        self.id = connection_id
        self.user_id = user_id
        self.session_id = session_id
        self.websocket = websocket
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self.closed = asyncio.Event()
        self._abort = abort
        self._close_grace = close_grace
        self._writer: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name=f"ws-writer-{self.id}")

    def send(self, text: str) -> bool:
        """Queue a frame; on overflow, close the connection with 4008 and return False."""
        if self.closed.is_set():
            return False
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            WS_CLOSED_SLOW.inc()
            logger.info("connection %s of %s too slow; closing 4008", self.id, self.user_id)
            self.close_soon(CLOSE_SLOW_CONSUMER, "too slow")
            return False
        return True

    def close_soon(self, code: int, reason: str) -> None:
        """Close in the background: marked closed at once, so the frames that follow are
        dropped without closing it again; the caller never waits for the peer."""
        if self.closed.is_set():
            return
        self.closed.set()
        self._closing = asyncio.create_task(self._send_close(code, reason))

    async def _write_loop(self) -> None:
        try:
            while True:
                text = await self.queue.get()
                await self.websocket.send_text(text)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the peer went away mid-send
            logger.debug("writer of %s stopped: %r", self.id, exc)
            self.closed.set()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Stop writing and send a close frame, once."""
        if self.closed.is_set():
            return
        self.closed.set()
        await self._send_close(code, reason)

    async def _send_close(self, code: int, reason: str) -> None:
        await self.stop_writer()
        try:
            await asyncio.wait_for(
                self.websocket.close(code=code, reason=reason), self._close_grace
            )
        except TimeoutError:
            logger.info("connection %s did not take its close frame; cutting it off", self.id)
            self._abort()
        except Exception as exc:  # already gone
            logger.debug("close of %s failed: %r", self.id, exc)

    async def stop_writer(self) -> None:
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer


class ConnectionManager:
    def __init__(
        self, max_connections: int, queue_size: int, *, close_grace: float = CLOSE_GRACE
    ) -> None:
        self.max_connections = max_connections
        self.queue_size = queue_size
        self.close_grace = close_grace
        self._by_user: dict[str, dict[str, Connection]] = {}
        self._count = 0

    @property
    def count(self) -> int:
        return self._count

    def is_full(self) -> bool:
        return self._count >= self.max_connections

    def count_for(self, user_id: str) -> int:
        return len(self._by_user.get(user_id, ()))

    def open(
        self,
        websocket: WebSocket,
        user_id: str,
        connection_id: str,
        abort: Abort,
        *,
        session_id: str | None = None,
    ) -> Connection:
        connection = Connection(
            websocket,
            user_id,
            connection_id,
            session_id=session_id,
            queue_size=self.queue_size,
            close_grace=self.close_grace,
            abort=abort,
        )
        self._by_user.setdefault(user_id, {})[connection.id] = connection
        self._count += 1
        WS_CONNECTIONS.set(self._count)
        connection.start()
        return connection

    async def release(self, connection: Connection) -> None:
        await connection.stop_writer()
        connection.closed.set()
        user_connections = self._by_user.get(connection.user_id, {})
        if connection.id in user_connections:
            del user_connections[connection.id]
            self._count -= 1
            WS_CONNECTIONS.set(self._count)
            if not user_connections:
                del self._by_user[connection.user_id]

    def deliver(self, user_ids: Iterable[str], text: str, exclude_connection_id: str | None) -> int:
        delivered = 0
        for user_id in user_ids:
            for connection in tuple(self._by_user.get(user_id, {}).values()):
                if connection.id != exclude_connection_id and connection.send(text):
                    delivered += 1
        return delivered

    def pairs(self) -> list[tuple[str, str]]:
        """(user_id, connection_id) of every local connection, for presence refresh."""
        return [(uid, cid) for uid, conns in self._by_user.items() for cid in conns]

    def session_ids(self) -> set[str]:
        """The sessions that local connections were opened with."""
        return {
            c.session_id
            for conns in self._by_user.values()
            for c in conns.values()
            if c.session_id is not None
        }

    def close_sessions(self, session_ids: Iterable[str], code: int, reason: str) -> int:
        """Close (in the background) every local connection opened with one of the sessions;
        returns how many. Revocations are rare: a scan of the connections is enough."""
        wanted = set(session_ids)
        closing = [
            connection
            for conns in self._by_user.values()
            for connection in conns.values()
            if connection.session_id in wanted and not connection.closed.is_set()
        ]
        for connection in closing:
            connection.close_soon(code, reason)
        return len(closing)

    async def close_all(self, code: int = 1001) -> None:
        """Close every connection at once (shutdown): each gets `close_grace` at most."""
        connections = [c for conns in self._by_user.values() for c in conns.values()]
        await asyncio.gather(*(c.close(code, "server shutting down") for c in connections))
