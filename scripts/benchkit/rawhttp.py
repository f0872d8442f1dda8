"""A minimal keep-alive HTTP/1.1 client for the measured loops.

httpx spends about a millisecond of client CPU per request; on a 2-core machine whose other
core runs the server, that makes the load generator, not the service, the bottleneck. This
client writes a request and reads `Content-Length` bytes back, on connections kept per user.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from urllib.parse import urlsplit

IDLE_REOPEN = 4.0
"""Reopen a connection idle this long: uvicorn drops keep-alive connections after 5 s."""


class RawConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.last_used = time.monotonic()

    def stale(self) -> bool:
        return time.monotonic() - self.last_used > IDLE_REOPEN or self.writer.is_closing()

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        self.last_used = time.monotonic()
        return status, body

    def close(self) -> None:
        self.writer.close()


class RawHttp:
    """Connections per key (a bench user), one request in flight per connection."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._idle: defaultdict[str, list[RawConnection]] = defaultdict(list)

    async def _take(self, key: str) -> RawConnection:
        idle = self._idle[key]
        while idle:
            connection = idle.pop()
            if not connection.stale():
                return connection
            connection.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return RawConnection(reader, writer)

    async def request(
        self, key: str, method: str, path: str, token: str, body: bytes | None = None
    ) -> tuple[int, bytes]:
        head = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Authorization: Bearer {token}",
        ]
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + (body or b"")
        connection = await self._take(key)
        try:
            result = await connection.exchange(request)
        except BaseException:
            connection.close()
            raise
        self._idle[key].append(connection)
        return result

    def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
