"""Notifications with real server processes (SPEC §13): two instances over Redis share the
webhook outbox (each delivery accepted once, in group order; `offline_member_ids` and Web Push
follow presence across instances), and a server killed with deliveries pending delivers them
all after a restart, none twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.databases import MYSQL_URL
from tests.factories import add_member, create_group, create_user, send
from tests.integration.clients import WsClient, http_client
from tests.integration.conftest import ServerFactory
from tests.notifications.receivers import (
    WEBHOOK_SECRET,
    Answer,
    PushService,
    WebhookReceiver,
)


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    stand_in = WebhookReceiver()
    await stand_in.start()
    try:
        yield stand_in
    finally:
        await stand_in.stop()


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    stand_in = PushService()
    await stand_in.start()
    try:
        yield stand_in
    finally:
        await stand_in.stop()


def notify_env(receiver: WebhookReceiver, **extra: str) -> dict[str, str]:
    return {
        "WEBHOOK_URL": receiver.url,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
        "WEBHOOK_TIMEOUT": "1",
        **extra,
    }


def _created(receiver: WebhookReceiver) -> list[dict[str, Any]]:
    return [body["data"] for body in receiver.accepted("message.created")]


async def test_two_instances_share_the_outbox_and_presence(
    servers: ServerFactory,
    scaled_database_url: str,
    redis_url: str,
    redis_prefix: str,
    receiver: WebhookReceiver,
    push_service: PushService,
) -> None:
    common: dict[str, Any] = {
        "database_url": scaled_database_url,
        "broker_url": redis_url,
        "redis_prefix": redis_prefix,
        "extra": notify_env(receiver, PUSH_ENABLED="true"),
    }
    a = await servers.start("a", **common)
    b = await servers.start("b", **common)
    async with http_client(a) as http_a, http_client(b) as http_b:
        doctor = await create_user(http_a, "DOCTOR")
        colleague = await create_user(http_a, "DOCTOR")
        patient = await create_user(http_b, "PATIENT")
        group_id = (await create_group(http_a, doctor))["group_id"]
        await add_member(http_a, doctor, group_id, patient)
        await add_member(http_b, doctor, group_id, colleague)
        key = (await http_b.get("/api/push/public-key")).json()["public_key"]
        assert (await http_a.get("/api/push/public-key")).json()["public_key"] == key
        push_service.vapid_public_key = key
        devices = {}
        for user in (doctor, colleague):
            devices[user.user_id] = push_service.subscriber(user.username)
            response = await http_a.post(
                "/api/push/subscriptions",
                json=devices[user.user_id].json(),
                headers=user.headers,
            )
            assert response.status_code == 201, response.text

        # The doctor holds a socket on A; the patient writes through B.
        socket = await WsClient.open(a, doctor)
        try:
            first = await send(http_b, patient, group_id, "fever 39")
            assert first.status_code == 201, first.text
            [data] = await _wait_created(receiver, 1)
            assert data["offline_member_ids"] == sorted([patient.user_id, colleague.user_id])
            [push] = await push_service.wait_for(1)
            assert push.endpoint == devices[colleague.user_id].endpoint
        finally:
            await socket.close()

        # Gone from every instance: now the doctor is offline too.
        async with asyncio.timeout(10):
            while True:
                members = (
                    await http_b.get(f"/api/group/{group_id}/members", headers=doctor.headers)
                ).json()
                if not any(m["online"] for m in members):
                    break
                await asyncio.sleep(0.05)
        second = await send(http_a, patient, group_id, "still feverish")
        assert second.status_code == 201
        data = (await _wait_created(receiver, 2))[-1]
        assert data["offline_member_ids"] == sorted(
            [patient.user_id, colleague.user_id, doctor.user_id]
        )
        pushes = await push_service.wait_for(2)
        assert pushes[-1].endpoint == devices[doctor.user_id].endpoint

        # A burst through both instances: both deliverers work the one outbox.
        sent = []
        for n in range(20):
            http = http_a if n % 2 else http_b
            response = await send(http, patient, group_id, f"burst {n}")
            assert response.status_code == 201
            sent.append(response.json()["seq"])
        created = await _wait_created(receiver, 22)
    ids = Counter(d.webhook_id for d in receiver.deliveries if d.answered == 200)
    assert set(ids.values()) == {1}, "each delivery accepted exactly once"
    seqs = [data["message"]["seq"] for data in created]
    assert seqs == sorted(seqs) and seqs[-20:] == sent, "group order held across instances"
    assert receiver.bad_signatures == 0


async def _wait_created(receiver: WebhookReceiver, count: int) -> list[dict[str, Any]]:
    await receiver.wait_for(count, "message.created", within=20)
    return _created(receiver)


@pytest.fixture(params=["sqlite", "postgres", *(["mysql"] if MYSQL_URL else [])])
def crash_database_url(request: pytest.FixtureRequest) -> str:
    names = {"postgres": "throwaway_postgres_url", "sqlite": "sqlite_url", "mysql": "mysql_url"}
    url: str = request.getfixturevalue(names[request.param])
    return url


async def test_kill_9_with_deliveries_pending_loses_and_doubles_nothing(
    servers: ServerFactory, crash_database_url: str, receiver: WebhookReceiver
) -> None:
    receiver.default = Answer("hang")  # the receiver is stuck: every attempt times out
    server = await servers.start(
        "crashy", database_url=crash_database_url, extra=notify_env(receiver)
    )
    async with http_client(server) as http:
        doctor = await create_user(http, "DOCTOR")
        patient = await create_user(http, "PATIENT")
        group_id = (await create_group(http, doctor))["group_id"]
        await add_member(http, doctor, group_id, patient)
        sent = []
        for n in range(15):
            response = await send(http, patient, group_id, f"before the crash {n}")
            assert response.status_code == 201
            sent.append(response.json()["message_id"])
        await asyncio.wait_for(receiver.requested.wait(), 10)  # an attempt is in flight
    server.kill()
    assert receiver.accepted() == []

    receiver.default = Answer()  # the receiver recovers while the server is down
    receiver.release.set()
    await server.start()
    bodies = await receiver.wait_for(16, within=40)
    assert [b["data"]["message"]["message_id"] for b in bodies[1:]] == sent
    assert bodies[0]["type"] == "member.joined"
    ids = Counter(d.webhook_id for d in receiver.deliveries if d.answered == 200)
    assert len(ids) == 16 and set(ids.values()) == {1}
    async with http_client(server) as http:
        response = await http.get(
            "/api/admin/webhook-deliveries",
            params={"status": "PENDING"},
            headers={"X-API-Key": "integration-service-key"},
        )
        assert response.json()["deliveries"] == []
