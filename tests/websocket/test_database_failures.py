"""The WebSocket gateway when the database fails (SPEC §6: never a crash of the connection
handler): a socket opened while the database is down is told to come back later, and a failing
best-effort presence update does not take an open socket down."""

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from sqlalchemy import text
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.config import Settings
from app.db.database import create_engine
from tests.conftest import LiveServer, start_live_server, stop_live_server
from tests.databases import fresh_database, migrate
from tests.factories import consultation
from tests.websocket.wsclient import TIMEOUT, WSClient, eventually, open_raw

TRY_LATER = 1013


async def outcome_of_connect(url: str) -> object:
    """The HTTP status of a refused handshake, or the close code of an accepted socket."""
    try:
        connection = await open_raw(url)
    except InvalidStatus as refused:
        return refused.response.status_code
    try:
        await asyncio.wait_for(connection.recv(), TIMEOUT)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None
    finally:
        await connection.close()
    return "open"


async def test_socket_opened_while_the_database_is_down_is_told_to_retry(
    settings: Settings,
) -> None:
    down = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://nobody@127.0.0.1:1/none"}
    )
    now = datetime.now(UTC)
    token = jwt.encode(
        {"sub": "user_x", "sid": "sess_x", "iat": now, "exp": now + timedelta(minutes=5)},
        down.jwt_secret,
        algorithm="HS256",
    )
    live, task = await start_live_server(down)
    try:
        outcome = await outcome_of_connect(live.ws_url("user_x", token))
        assert outcome in (503, TRY_LATER), f"refused with {outcome}"
        assert live.app.state.server.connections.count == 0
    finally:
        live.server.should_exit = True
        await asyncio.wait_for(task, 15)


@pytest.fixture
async def own_database(settings: Settings, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings for a database of this test's own (on the same backend), so it can be broken."""
    backend = "sqlite" if settings.is_sqlite else "postgres"
    async with fresh_database(backend, tmp_path) as url:
        await migrate(url)
        own = settings.model_copy(update={"database_url": url})
        yield own


async def test_a_socket_whose_groups_cannot_be_read_is_told_to_retry(
    own_database: Settings,
) -> None:
    """The socket's routes (which groups' events to deliver here) are read before it is greeted:
    when that read fails the socket is closed 1013 rather than greeted deaf, and nothing leaks."""
    live: LiveServer
    live, task = await start_live_server(own_database)
    engine = create_engine(own_database)
    renamed = False
    try:
        async with httpx.AsyncClient(base_url=live.http_url, timeout=10) as http:
            room = await consultation(http)
            # Signed in once, so the socket's authentication needs no query of its own.
            assert (await http.get("/api/user/me", headers=room.patient.headers)).status_code == 200
            async with engine.begin() as connection:
                await connection.execute(text("ALTER TABLE group_members RENAME TO gm_broken"))
            renamed = True
            outcome = await outcome_of_connect(
                live.ws_url(room.patient.user_id, room.patient.token)
            )
            assert outcome == TRY_LATER
            server = live.app.state.server
            assert server.connections.count == 0
            await eventually(lambda: server.core.fanout.routes.channels() == set())
    finally:
        if renamed:
            async with engine.begin() as connection:
                await connection.execute(text("ALTER TABLE gm_broken RENAME TO group_members"))
        await engine.dispose()
        await stop_live_server(live, task)


async def test_a_failing_presence_update_does_not_drop_the_other_sockets(
    own_database: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The doctor goes offline while the members table is broken: their presence cannot be
    announced, which neither crashes the handler nor takes the patient's socket down."""
    live: LiveServer
    live, task = await start_live_server(own_database)
    engine = create_engine(own_database)
    renamed = False
    try:
        async with httpx.AsyncClient(base_url=live.http_url, timeout=10) as http:
            room = await consultation(http)
        patient = await WSClient.open(live, room.patient)
        doctor = await WSClient.open(live, room.doctor)
        async with engine.begin() as connection:
            await connection.execute(text("ALTER TABLE group_members RENAME TO gm_broken"))
        renamed = True
        # The app's logging setup replaced the root handlers: listen on the service's logger.
        presence_log = logging.getLogger("app.services.core.presence_service")
        presence_log.addHandler(caplog.handler)
        try:
            await doctor.close()
            await eventually(lambda: live.app.state.server.connections.count == 1)
        finally:
            presence_log.removeHandler(caplog.handler)
        assert f"presence of {room.doctor.user_id} not announced" in caplog.text
        await patient.ping()
        await patient.close()
    finally:
        if renamed:
            async with engine.begin() as connection:
                await connection.execute(text("ALTER TABLE gm_broken RENAME TO group_members"))
        await engine.dispose()
        await stop_live_server(live, task)
