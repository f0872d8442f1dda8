"""A small real WebSocket client for tests: JSON events in and out, every wait bounded in time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

if TYPE_CHECKING:
    from tests.conftest import LiveServer
    from tests.factories import TestUser

TIMEOUT = 5.0
Event = dict[str, Any]


class WSClient:
    """One connection of one user; events read but not yet asked for are kept in `backlog`."""

    def __init__(self, connection: ClientConnection, user: TestUser | None = None) -> None:
        self.connection = connection
        self.user = user
        self.backlog: list[Event] = []

    @classmethod
    async def open(cls, live: LiveServer, user: TestUser, **options: Any) -> WSClient:
        """Connect as `user` and consume the `connected` event."""
        client = cls(await open_raw(live.ws_url(user.user_id, user.token), **options), user)
        hello = await client.recv()
        assert hello["type"] == "connected", hello
        assert hello["user_id"] == user.user_id
        return client

    async def send(self, event: Event) -> None:
        await self.connection.send(json.dumps(event))

    async def send_raw(self, data: str | bytes) -> None:
        await self.connection.send(data)

    async def recv(self, within: float = TIMEOUT) -> Event:
        """The next event (from the backlog first)."""
        if self.backlog:
            return self.backlog.pop(0)
        raw = await asyncio.wait_for(self.connection.recv(), within)
        event: Event = json.loads(raw)
        return event

    async def expect(
        self, event_type: str, within: float = TIMEOUT, **match: Any
    ) -> tuple[Event, list[Event]]:
        """The first event of `event_type` whose fields equal `match`, and those read before it
        (which stay out of the backlog)."""

        def wanted(event: Event) -> bool:
            return event.get("type") == event_type and all(
                event.get(key) == value for key, value in match.items()
            )

        return await self.until(wanted, within)

    async def until(
        self, predicate: Callable[[Event], bool], within: float = TIMEOUT
    ) -> tuple[Event, list[Event]]:
        skipped: list[Event] = []
        async with asyncio.timeout(within):
            while True:
                event = await self.recv(within)
                if predicate(event):
                    return event, skipped
                skipped.append(event)

    async def message(self, content: str, within: float = TIMEOUT) -> tuple[Event, list[Event]]:
        """The `message` event carrying `content`, and the events before it."""
        return await self.until(
            lambda e: e.get("type") == "message" and e["message"]["msg_content"] == content,
            within,
        )

    async def request(self, event: Event, reply_type: str, within: float = TIMEOUT) -> Event:
        """Send `event` and wait for the reply of `reply_type` (other events go to the backlog)."""
        await self.send(event)
        found, skipped = await self.expect(reply_type, within)
        self.backlog.extend(skipped)
        return found

    async def ping(self, within: float = TIMEOUT) -> None:
        """A round trip proving the socket still works."""
        await self.request({"type": "ping"}, "pong", within)

    async def silent(self, seconds: float = 0.3) -> list[Event]:
        """Every event arriving within `seconds` (for asserting that nothing of a kind came)."""
        events = list(self.backlog)
        self.backlog.clear()
        try:
            async with asyncio.timeout(seconds):
                while True:
                    events.append(json.loads(await self.connection.recv()))
        except TimeoutError:
            pass
        return events

    async def close(self) -> None:
        await asyncio.wait_for(self.connection.close(), TIMEOUT)

    async def closed_code(self, within: float = TIMEOUT) -> int | None:
        """Read until the server closes; the close code it sent."""
        try:
            async with asyncio.timeout(within):
                while True:
                    await self.connection.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None


async def open_raw(url: str, **options: Any) -> ClientConnection:
    options.setdefault("proxy", None)
    options.setdefault("open_timeout", TIMEOUT)
    return await asyncio.wait_for(connect(url, **options), TIMEOUT + 1)


def types(events: list[Event]) -> list[str]:
    return [str(event.get("type")) for event in events]


Connect = Callable[..., Awaitable[WSClient]]
"""The `ws` fixture: `await ws(user)` opens a connection for `user`."""


async def eventually(predicate: Callable[[], bool], within: float = TIMEOUT) -> None:
    """Poll until `predicate()` holds; fail after `within` seconds."""
    for _ in range(int(within / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not met within {within} s")
