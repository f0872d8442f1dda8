"""Helpers for the copilot's tests: a member's socket that keeps every event it read, the
copilot's records through the public API, and the proof that a socket heard nothing of it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from tests.conftest import LiveServer
from tests.factories import TestUser, send_ok

Event = dict[str, Any]
COPILOT_EVENTS = {"ai_copilot", "ai_copilot_delta"}


class Socket:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.received: list[Event] = []

    async def until(self, predicate: Callable[[Event], bool], within: float = 10.0) -> Event:
        """Read (bounded) up to the first event matching `predicate`; every event is kept."""
        async with asyncio.timeout(within):
            while True:
                event: Event = json.loads(await self.connection.recv())
                self.received.append(event)
                if predicate(event):
                    return event

    async def copilot_done(self, record_id: str) -> Event:
        return await self.until(lambda e: e["type"] == "ai_copilot" and e["record_id"] == record_id)

    def copilot(self) -> list[Event]:
        """The copilot events this socket received."""
        return [e for e in self.received if e["type"] in COPILOT_EVENTS]


@asynccontextmanager
async def socket(live_server: LiveServer, user: TestUser) -> AsyncIterator[Socket]:
    async with websockets.connect(live_server.ws_url(user.user_id, user.token)) as connection:
        opened = Socket(connection)
        await opened.until(lambda e: e["type"] == "connected")
        yield opened


async def heard_nothing(
    client: httpx.AsyncClient, sender: TestUser, group_id: str, *sockets: Socket
) -> None:
    """Every socket has read everything published before a marker message (published after
    what they must not have heard, through the same ordered fan-out) and no copilot event."""
    marker = await send_ok(client, sender, group_id, "marker")
    for listener in sockets:
        await listener.until(
            lambda e: e["type"] == "message" and e["message"]["message_id"] == marker["message_id"]
        )
        assert listener.copilot() == []


async def ask(
    client: httpx.AsyncClient, user: TestUser, what: str, group_id: str
) -> httpx.Response:
    return await client.post(f"/api/ai/{what}", json={"group_id": group_id}, headers=user.headers)


async def asked(client: httpx.AsyncClient, user: TestUser, what: str, group_id: str) -> str:
    response = await ask(client, user, what, group_id)
    assert response.status_code == 202, response.text
    assert set(response.json()) == {"record_id"}
    record_id: str = response.json()["record_id"]
    return record_id


async def copilot_records(client: httpx.AsyncClient, user: TestUser, group_id: str) -> list[Event]:
    response = await client.get(
        "/api/ai/copilot", params={"group_id": group_id}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    records: list[Event] = response.json()["records"]
    return records


async def wait_copilot(
    client: httpx.AsyncClient, user: TestUser, group_id: str, record_id: str, within: float = 10
) -> Event:
    """The record once it is no longer PENDING or PROCESSING."""
    async with asyncio.timeout(within):
        while True:
            for record in await copilot_records(client, user, group_id):
                if record["record_id"] == record_id and record["status"] not in (
                    "PENDING",
                    "PROCESSING",
                ):
                    return record
            await asyncio.sleep(0.02)
