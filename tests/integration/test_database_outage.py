"""PostgreSQL stopped under a running server (SPEC §5: health, 503 envelope).

While the database is down `/health` answers 503 "degraded" / "database": "down" within
seconds, HTTP sends get a 503 envelope (no stack trace, no hang), WebSocket sends get an
`error` event on a socket that stays open; when PostgreSQL is back the same process serves
again without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator

import asyncpg
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.databases import migrate
from tests.factories import add_member, create_group, create_user, send
from tests.integration.clients import WsClient, http_client
from tests.integration.conftest import ServerFactory
from tests.integration.processes import PostgresCluster

ANSWER_WITHIN = 5.0
RECOVER_WITHIN = 30.0


@pytest.fixture
def own_postgres() -> Iterator[PostgresCluster]:
    """A cluster this test may stop (never the shared one, nor the session's)."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


async def test_database_down_then_back(
    servers: ServerFactory, own_postgres: PostgresCluster
) -> None:
    url = own_postgres.create_database("im")
    await migrate(url)
    server = await servers.start("db-outage", database_url=url)
    async with http_client(server, timeout=ANSWER_WITHIN * 2) as http:
        doctor = await create_user(http, "DOCTOR")
        patient = await create_user(http, "PATIENT")
        group_id = (await create_group(http, doctor))["group_id"]
        await add_member(http, doctor, group_id, patient)
        assert (await send(http, patient, group_id, "before")).status_code == 201
        socket = await WsClient.open(server, patient)
        try:
            await socket.ping()  # the connect-time work (presence) is over
            await asyncio.to_thread(own_postgres.stop, "fast")

            started = time.monotonic()
            health = await http.get("/health")
            assert time.monotonic() - started < ANSWER_WITHIN
            assert health.status_code == 503
            body = health.json()
            assert (body["status"], body["database"], body["broker"]) == ("degraded", "down", "ok")

            for attempt in range(3):  # every attempt answers, and quickly
                started = time.monotonic()
                refused = await send(http, patient, group_id, f"while down {attempt}")
                assert time.monotonic() - started < ANSWER_WITHIN
                assert refused.status_code == 503, refused.text
                error = refused.json()["error"]
                assert error["code"] == "DATABASE_UNAVAILABLE"
                assert set(refused.json()) == {"error"}
                assert "Traceback" not in refused.text
                assert "asyncpg" not in refused.text
                assert refused.headers.get("retry-after")

            await socket.send(
                {"type": "send_message", "group_id": group_id, "content": "ws while down"}
            )
            ws_error = await socket.expect(lambda e: e["type"] == "error", ANSWER_WITHIN)
            assert ws_error["code"] == "DATABASE_UNAVAILABLE"
            assert (await socket.ping())["type"] == "pong"  # the socket survived

            await asyncio.to_thread(own_postgres.start)
            deadline = time.monotonic() + RECOVER_WITHIN
            while (await http.get("/health")).status_code != 200:
                assert time.monotonic() < deadline, "health did not recover"
                await asyncio.sleep(0.2)
            recovered = await send(http, patient, group_id, "after")
            assert recovered.status_code == 201, recovered.text
            await socket.send({"type": "send_message", "group_id": group_id, "content": "ws after"})
            sent = await socket.expect(lambda e: e["type"] == "message_sent")
            assert sent["message"]["seq"] == recovered.json()["seq"] + 1
        finally:
            await socket.close()
    assert server.is_alive()
    assert server.starts == 1  # recovered without a restart
    log = server.log_text()
    assert "while down" not in log  # message bodies never reach the log (health data)


def _crashed(log: str) -> bool:
    return "Exception in ASGI application" in log or "Traceback" in log


async def test_socket_opened_while_database_is_down_is_refused_cleanly(
    servers: ServerFactory, own_postgres: PostgresCluster
) -> None:
    """Refused with 503 at the handshake, or accepted and closed 1011/1013; never a crash."""
    url = own_postgres.create_database("im")
    await migrate(url)
    server = await servers.start("ws-db-down", database_url=url)
    async with http_client(server) as http:
        patient = await create_user(http, "PATIENT")
    await asyncio.to_thread(own_postgres.stop, "fast")
    outcome: object
    try:
        async with connect(server.ws_url(patient.user_id, patient.token), open_timeout=5) as ws:
            try:
                await asyncio.wait_for(ws.recv(), ANSWER_WITHIN)
                outcome = "open"
            except ConnectionClosed as exc:
                outcome = exc.rcvd.code if exc.rcvd is not None else None
    except InvalidStatus as exc:
        outcome = exc.response.status_code
    assert outcome in (503, 1011, 1013), f"refused with {outcome}"
    assert server.is_alive()
    assert not _crashed(server.log_text())


async def test_database_failure_while_a_socket_opens_does_not_crash_it(
    servers: ServerFactory, own_postgres: PostgresCluster
) -> None:
    """The connect-time reads (the socket's routes, then its presence announcement) need the
    database; when they fail the socket keeps working (presence is best effort) or is closed
    1011/1013, never dropped by a crash."""
    url = own_postgres.create_database("im")
    await migrate(url)
    server = await servers.start("ws-open-race", database_url=url)
    async with http_client(server) as http:
        doctor = await create_user(http, "DOCTOR")
        patient = await create_user(http, "PATIENT")
        group_id = (await create_group(http, doctor))["group_id"]
        await add_member(http, doctor, group_id, patient)
    # Hold group_members locked so the connect-time query is in flight when the database goes
    # away (deterministic, instead of racing the shutdown).
    admin = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{own_postgres.port}/im")
    await admin.execute("BEGIN; LOCK TABLE group_members IN ACCESS EXCLUSIVE MODE")
    opening = asyncio.create_task(WsClient.open(server, patient))
    await asyncio.sleep(0.5)
    await asyncio.to_thread(own_postgres.stop, "fast")
    with contextlib.suppress(Exception):
        await admin.close(timeout=2)
    outcome: object
    try:
        socket = await opening
        try:
            await socket.ping(ANSWER_WITHIN)
            outcome = "pong"
        finally:
            await socket.close()
    except ConnectionClosed as exc:
        outcome = exc.rcvd.code if exc.rcvd is not None else None
    assert outcome in ("pong", 1011, 1013), f"socket ended with {outcome}"
    assert not _crashed(server.log_text())
