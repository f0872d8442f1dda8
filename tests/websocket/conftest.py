"""WebSocket fixtures: `ws(user)` opens a real connection to `live_server`, closed at teardown."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.factories import TestUser
from tests.websocket.wsclient import Connect, WSClient


@pytest.fixture
async def ws(live_server: LiveServer) -> AsyncIterator[Connect]:
    opened: list[WSClient] = []

    async def connect(user: TestUser, **options: Any) -> WSClient:
        client = await WSClient.open(live_server, user, **options)
        opened.append(client)
        return client

    yield connect
    for client in opened:
        await client.close()
