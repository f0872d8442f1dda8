"""Accounts in the scaled shape (SPEC §10): two server processes on one PostgreSQL and Redis.
A session revoked through one instance is refused by the other within 5 s and its sockets there
are closed with 4401; instances starting together on an empty database agree on one bootstrap
doctor invite, and none is logged once a doctor exists."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed

from tests.factories import TestUser, create_user
from tests.integration.clients import WsClient, http_client
from tests.integration.conftest import ServerFactory
from tests.integration.processes import SERVICE_KEY, RedisServer

REVOCATION_BOUND = 5.0
RESUBSCRIBE_WITHIN = 30.0
BOOTSTRAP_LINE = re.compile(r"the first doctor signs up at \S+/#invite=([A-Za-z0-9_-]+)")


async def second_session(http: httpx.AsyncClient, user: TestUser) -> TestUser:
    response = await http.post(
        "/api/auth/token", json={"user_id": user.user_id}, headers={"X-API-Key": SERVICE_KEY}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return TestUser(user.user_id, user.username, user.user_role, body["access_token"])


async def closed_code(client: WsClient, within: float) -> int | None:
    try:
        async with asyncio.timeout(within):
            while True:
                await client.connection.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


async def test_logout_on_one_instance_reaches_the_other(
    servers: ServerFactory, scaled_database_url: str, redis_url: str, redis_prefix: str
) -> None:
    common: dict[str, Any] = {
        "database_url": scaled_database_url,
        "broker_url": redis_url,
        "redis_prefix": redis_prefix,
    }
    a = await servers.start("a", **common)
    b = await servers.start("b", **common)
    async with http_client(a) as http_a, http_client(b) as http_b:
        phone = await create_user(http_a)
        laptop = await second_session(http_a, phone)
        assert (await http_b.get("/api/user/me", headers=phone.headers)).status_code == 200
        phone_on_b = await WsClient.open(b, phone)
        laptop_on_b = await WsClient.open(b, laptop)
        try:
            assert (await http_a.post("/api/auth/logout", headers=phone.headers)).status_code == 204
            started = time.monotonic()
            assert await closed_code(phone_on_b, REVOCATION_BOUND) == 4401
            while (await http_b.get("/api/user/me", headers=phone.headers)).status_code != 401:
                assert time.monotonic() - started < REVOCATION_BOUND, "still accepted on B"
                await asyncio.sleep(0.05)
            await laptop_on_b.ping()
            assert (await http_b.get("/api/user/me", headers=laptop.headers)).status_code == 200
        finally:
            await laptop_on_b.close()


async def test_one_bootstrap_invite_for_instances_starting_together(
    servers: ServerFactory, scaled_database_url: str, redis_url: str, redis_prefix: str
) -> None:
    extra = {"DOCTOR_SIGNUP": "invite"}
    common: dict[str, Any] = {
        "database_url": scaled_database_url,
        "broker_url": redis_url,
        "redis_prefix": redis_prefix,
        "extra": extra,
    }
    a = servers.create("a", **common)
    b = servers.create("b", **common)
    a.spawn()
    b.spawn()
    await asyncio.gather(a.wait_ready(), b.wait_ready())
    codes = [BOOTSTRAP_LINE.findall(server.log_text()) for server in (a, b)]
    assert len(codes[0]) == 1 and codes[0] == codes[1], codes  # once each, the same invite
    code = codes[0][0]
    async with http_client(b) as http:
        body = {"username": "Dr First", "user_role": "DOCTOR", "invite_code": code}
        assert (await http.post("/api/user/create", json=body)).status_code == 201
        again = await http.post("/api/user/create", json={**body, "username": "Dr Second"})
        assert again.status_code == 403
    await a.restart()
    assert len(BOOTSTRAP_LINE.findall(a.log_text())) == 1  # not logged again: a doctor exists


async def test_a_revocation_during_a_broker_outage_still_closes_the_sockets(
    servers: ServerFactory, scaled_database_url: str, own_redis: RedisServer
) -> None:
    """With Redis down, the revocation's signal is lost (even to the instance that revoked).
    Before the fix the session's sockets stayed open after Redis came back; now each instance
    reads the state of its sockets' sessions afresh when it re-subscribes."""
    common: dict[str, Any] = {
        "database_url": scaled_database_url,
        "broker_url": own_redis.url,
        "redis_prefix": "revoke-outage",
    }
    a = await servers.start("a", **common)
    b = await servers.start("b", **common)
    async with http_client(a) as http_a:
        phone = await create_user(http_a)
        laptop = await second_session(http_a, phone)
        phone_on_a = await WsClient.open(a, phone)
        phone_on_b = await WsClient.open(b, phone)
        laptop_on_b = await WsClient.open(b, laptop)
        try:
            await asyncio.to_thread(own_redis.stop, hard=True)
            assert (await http_a.post("/api/auth/logout", headers=phone.headers)).status_code == 204
            await asyncio.to_thread(own_redis.start)
            assert await closed_code(phone_on_a, RESUBSCRIBE_WITHIN) == 4401
            assert await closed_code(phone_on_b, RESUBSCRIBE_WITHIN) == 4401
            await laptop_on_b.ping()  # another session of the same user is untouched
        finally:
            await laptop_on_b.close()
