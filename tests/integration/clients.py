"""Client helpers for integration tests: a WebSocket client that waits for events with a
deadline (keeping what it skipped), `sync` paging, and HTTP helpers bound to a server process.

Every wait here is bounded in time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from tests.factories import TestUser
from tests.integration.processes import ServerProcess

Event = dict[str, Any]
Predicate = Callable[[Event], bool]
DEFAULT_TIMEOUT = 10.0
MAX_SYNC_PAGES = 100


class WsClient:
    """One WebSocket connection of one user to one server process."""

    def __init__(self, connection: ClientConnection, user: TestUser, server: ServerProcess) -> None:
        self.connection = connection
        self.user = user
        self.server = server
        self.backlog: list[Event] = []
        self.received: list[Event] = []

    @classmethod
    async def open(cls, server: ServerProcess, user: TestUser, **kwargs: Any) -> WsClient:
        connection = await asyncio.wait_for(
            connect(server.ws_url(user.user_id, user.token), open_timeout=10, **kwargs),
            timeout=15,
        )
        client = cls(connection, user, server)
        hello = await client.expect(lambda e: e["type"] == "connected")
        assert hello["user_id"] == user.user_id
        return client

    async def send(self, event: Event) -> None:
        await self.connection.send(orjson.dumps(event).decode())

    async def send_raw(self, data: str | bytes) -> None:
        await self.connection.send(data)

    async def _next(self, within: float) -> Event:
        raw = await asyncio.wait_for(self.connection.recv(), timeout=within)
        event: Event = orjson.loads(raw)
        self.received.append(event)
        return event

    async def expect(self, predicate: Predicate, within: float = DEFAULT_TIMEOUT) -> Event:
        """The first event (skipped ones first) matching `predicate`; others stay queued."""
        for index, event in enumerate(self.backlog):
            if predicate(event):
                return self.backlog.pop(index)
        deadline = time.monotonic() + within
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"{self.user.username}@{self.server.name}: no matching event in {within}s; "
                    f"skipped: {[e.get('type') for e in self.backlog][-20:]}"
                )
            try:
                event = await self._next(remaining)
            except TimeoutError:
                continue
            if predicate(event):
                return event
            self.backlog.append(event)

    async def expect_message(self, message_id: str, within: float = DEFAULT_TIMEOUT) -> Event:
        event = await self.expect(
            lambda e: e["type"] == "message" and e["message"]["message_id"] == message_id,
            within,
        )
        message: Event = event["message"]
        return message

    async def quiet(self, predicate: Predicate, wait: float) -> list[Event]:
        """Read for `wait` seconds; return the events matching `predicate` (expected: none)."""
        matched = [event for event in self.backlog if predicate(event)]
        deadline = time.monotonic() + wait
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = await self._next(remaining)
            except TimeoutError:
                break
            (matched if predicate(event) else self.backlog).append(event)
        return matched

    async def ping(self, within: float = DEFAULT_TIMEOUT) -> Event:
        await self.send({"type": "ping"})
        return await self.expect(lambda e: e["type"] == "pong", within)

    async def sync(
        self, group_id: str, after_seq: int = 0, within: float = DEFAULT_TIMEOUT
    ) -> tuple[list[Event], int]:
        """Every message of `group_id` after `after_seq` via `sync` pages; (messages, pages)."""
        messages: list[Event] = []
        cursor = after_seq
        for page in range(1, MAX_SYNC_PAGES + 1):
            await self.send({"type": "sync", "cursors": {group_id: cursor}})
            result = await self.expect(
                lambda e: e["type"] == "sync_result" and e["group_id"] == group_id, within
            )
            messages.extend(result["messages"])
            if result["messages"]:
                cursor = result["messages"][-1]["seq"]
            if not result["has_more"]:
                return messages, page
            assert result["messages"], "has_more with an empty page"
        raise AssertionError(f"sync of {group_id} did not finish in {MAX_SYNC_PAGES} pages")

    async def close(self) -> None:
        await self.connection.close()


def http_client(server: ServerProcess, **kwargs: Any) -> httpx.AsyncClient:
    kwargs.setdefault("timeout", 15)
    return httpx.AsyncClient(base_url=server.url, **kwargs)


def assert_dense(messages: list[Event], first: int = 1) -> None:
    """Seqs strictly ascending with no gap, starting at `first`."""
    seqs = [m["seq"] for m in messages]
    assert seqs == list(range(first, first + len(seqs))), f"not dense from {first}: {seqs}"
