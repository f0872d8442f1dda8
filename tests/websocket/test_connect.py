"""The WebSocket handshake (SPEC §4, §6): `connected` for a good token, refusal before any data
for a missing, invalid, foreign or expired one."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.config import Settings
from tests.conftest import LiveServer, start_live_server, stop_live_server
from tests.factories import create_user
from tests.websocket.wsclient import TIMEOUT, WSClient, eventually, open_raw


async def assert_refused(url: str, **options: Any) -> None:
    """Either the handshake is answered 403, or the socket is closed 4401 before any data."""
    status: int | None = None
    try:
        connection = await open_raw(url, **options)
    except InvalidStatus as refused:
        status = refused.response.status_code
    if status is not None:
        assert status == 403
        return
    try:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(connection.recv(), TIMEOUT)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    finally:
        await connection.close()


def token_for(settings: Settings, sub: str, *, lifetime: timedelta, key: str | None = None) -> str:
    now = datetime.now(UTC)
    claims = {"sub": sub, "iat": now, "exp": now + lifetime}
    return jwt.encode(claims, key or settings.jwt_secret, algorithm="HS256")


async def test_connected_event(live_server: LiveServer, live_client: httpx.AsyncClient) -> None:
    user = await create_user(live_client)
    connection = await open_raw(live_server.ws_url(user.user_id, user.token))
    client = WSClient(connection, user)
    try:
        hello = await client.recv()
        assert set(hello) == {"type", "user_id", "server_time"}
        assert hello["type"] == "connected" and hello["user_id"] == user.user_id
        server_time = datetime.fromisoformat(hello["server_time"])
        assert server_time.tzinfo is not None
        assert abs(datetime.now(UTC) - server_time) < timedelta(minutes=1)
        await client.ping()
    finally:
        await client.close()


async def test_refused_tokens(
    live_server: LiveServer, live_client: httpx.AsyncClient, settings: Settings
) -> None:
    user = await create_user(live_client)
    other = await create_user(live_client)
    base = f"ws://127.0.0.1:{live_server.port}/ws/{user.user_id}"
    expired = token_for(settings, user.user_id, lifetime=timedelta(seconds=-10))
    forged = token_for(settings, user.user_id, lifetime=timedelta(minutes=5), key="k" * 40)
    ghost = token_for(settings, "user_gone", lifetime=timedelta(minutes=5))
    for url in (
        base,
        f"{base}?token=",
        f"{base}?token=garbage",
        f"{base}?token={other.token}",
        f"{base}?token={expired}",
        f"{base}?token={forged}",
        f"ws://127.0.0.1:{live_server.port}/ws/user_gone?token={ghost}",
    ):
        await assert_refused(url)
    # Refused sockets leave no trace: the user is not online and holds no connection.
    assert live_server.app.state.server.connections.count == 0


async def test_a_token_in_a_header_does_not_replace_the_query_token(
    live_server: LiveServer, live_client: httpx.AsyncClient
) -> None:
    user = await create_user(live_client)
    url = f"ws://127.0.0.1:{live_server.port}/ws/{user.user_id}"
    await assert_refused(url, additional_headers=user.headers)


async def test_several_connections_of_one_user(
    live_server: LiveServer, live_client: httpx.AsyncClient
) -> None:
    user = await create_user(live_client)
    phone = await WSClient.open(live_server, user)
    laptop = await WSClient.open(live_server, user)
    connections = live_server.app.state.server.connections
    assert connections.count == 2
    await phone.ping()
    await laptop.ping()
    await phone.close()
    await laptop.ping()
    await laptop.close()
    await eventually(lambda: connections.count == 0)


@pytest.mark.parametrize("settings_overrides", [{"ws_max_connections": 1}], indirect=True)
async def test_a_full_server_turns_new_sockets_away(
    live_server: LiveServer, live_client: httpx.AsyncClient
) -> None:
    user = await create_user(live_client)
    first = await WSClient.open(live_server, user)
    connection = await open_raw(live_server.ws_url(user.user_id, user.token))
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(connection.recv(), TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    await first.ping()
    await first.close()


async def test_server_shutdown_closes_open_sockets(settings: Settings) -> None:
    """Stopping an instance closes its sockets promptly (clients reconnect elsewhere)."""
    live, task = await start_live_server(settings)
    try:
        async with httpx.AsyncClient(base_url=live.http_url, timeout=10) as http:
            user = await create_user(http)
        phone = await WSClient.open(live, user)
        laptop = await WSClient.open(live, user)
    finally:
        await asyncio.wait_for(stop_live_server(live, task), 20)
    for client in (phone, laptop):
        assert await client.closed_code() in (1001, 1012)
    assert live.app.state.server.connections.count == 0
