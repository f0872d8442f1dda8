"""Web Push (SPEC §13) against a loopback push service that checks the VAPID JWT and decrypts
the RFC 8291 payload with the subscriber's private key: who gets a push (offline members, not
the sender, not a member with an open socket), coalescing per group until read, mentions,
no message text inside, 404/410 deleting the subscription, and malformed subscriptions."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from typing import Any

import httpx
import pytest
import websockets
from fastapi import FastAPI

from app.notifications.push import QUEUE_SIZE, Pusher, PushNotice
from tests.conftest import LiveServer
from tests.factories import (
    TestUser,
    add_member,
    assert_error,
    consultation,
    create_user,
    mark_read,
    send_ok,
)
from tests.notifications.receivers import PushService, Subscriber, b64url, b64url_decode


async def subscribe(
    client: httpx.AsyncClient, push_service: PushService, user: TestUser, name: str
) -> Subscriber:
    if not push_service.vapid_public_key:
        key = await client.get("/api/push/public-key")
        assert key.status_code == 200, key.text
        assert key.json()["enabled"] is True
        push_service.vapid_public_key = key.json()["public_key"]
        assert len(b64url_decode(push_service.vapid_public_key)) == 65
    subscriber = push_service.subscriber(name)
    body = {**subscriber.json(), "expirationTime": None}
    response = await client.post("/api/push/subscriptions", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    assert response.json() == {"endpoint": subscriber.endpoint}
    return subscriber


async def test_an_offline_member_is_pushed_who_wrote_where_but_not_what(
    client: httpx.AsyncClient, push_service: PushService
) -> None:
    room = await consultation(client)
    doctor_device = await subscribe(client, push_service, room.doctor, "doctor")
    patient_device = await subscribe(client, push_service, room.patient, "patient")
    await send_ok(client, room.patient, room.group_id, "My chest hurts when I breathe")
    [push] = await push_service.wait_for(1)
    assert push.endpoint == doctor_device.endpoint
    assert push.payload == {
        "type": "message",
        "group_id": room.group_id,
        "group_name": "Consultation",
        "sender_name": room.patient.username,
        "seq": 2,
        "mentioned": False,
    }
    assert b"chest" not in push.plaintext and b"breathe" not in push.plaintext
    assert push.claims["sub"].startswith("mailto:")
    assert int(push.ttl) > 0
    assert push_service.to(patient_device) == [], "the sender is not told about their own words"
    assert push_service.rejected == []


async def test_pushes_are_coalesced_per_group_until_read_and_mentions_always_notify(
    client: httpx.AsyncClient, push_service: PushService
) -> None:
    room = await consultation(client)
    device = await subscribe(client, push_service, room.doctor, "doctor")
    for n in range(3):
        await send_ok(client, room.patient, room.group_id, f"update {n}")
    await push_service.wait_for(1)
    last = await send_ok(
        client, room.patient, room.group_id, "doctor?", mentions=[room.doctor.user_id]
    )
    pushes = await push_service.wait_for(2)
    assert [p.payload["mentioned"] for p in pushes] == [False, True]
    assert (await mark_read(client, room.doctor, room.group_id, last["seq"])).status_code == 200
    await send_ok(client, room.patient, room.group_id, "one more thing")
    pushes = await push_service.wait_for(3)
    assert [p.payload["seq"] for p in push_service.to(device)] == [2, 5, 6]


@pytest.mark.parametrize("gone_status", [404, 410])
async def test_a_gone_subscription_is_deleted(
    client: httpx.AsyncClient, push_service: PushService, gone_status: int
) -> None:
    room = await consultation(client)
    gone = await subscribe(client, push_service, room.doctor, "gone")
    kept = await subscribe(client, push_service, room.doctor, "kept")
    push_service.answers[gone.endpoint] = gone_status
    await send_ok(client, room.patient, room.group_id, "hello")
    await push_service.wait_for(1)
    async with asyncio.timeout(10):
        while True:
            response = await client.request(
                "DELETE",
                "/api/push/subscriptions",
                json={"endpoint": gone.endpoint},
                headers=room.doctor.headers,
            )
            if response.status_code == 404:
                break
            await asyncio.sleep(0.05)
    assert response.json()["error"]["code"] == "PUSH_SUBSCRIPTION_NOT_FOUND"
    assert [p.endpoint for p in push_service.pushes] == [kept.endpoint]
    still = await client.request(
        "DELETE",
        "/api/push/subscriptions",
        json={"endpoint": kept.endpoint},
        headers=room.doctor.headers,
    )
    assert still.status_code == 204


async def test_a_member_with_an_open_socket_is_not_pushed(
    live_server: LiveServer, live_client: httpx.AsyncClient, push_service: PushService
) -> None:
    room = await consultation(live_client)
    colleague = await create_user(live_client, "DOCTOR")
    await add_member(live_client, room.doctor, room.group_id, colleague)
    online_device = await subscribe(live_client, push_service, room.doctor, "online")
    offline_device = await subscribe(live_client, push_service, colleague, "offline")
    async with websockets.connect(
        live_server.ws_url(room.doctor.user_id, room.doctor.token)
    ) as socket:
        assert json.loads(await socket.recv())["type"] == "connected"
        await send_ok(live_client, room.patient, room.group_id, "anyone?")
        [push] = await push_service.wait_for(1)
    assert push.endpoint == offline_device.endpoint
    assert push_service.to(online_device) == []


def _with_keys(**keys: str) -> dict[str, Any]:
    body = Subscriber.new("https://push.example/abc").json()
    body["keys"].update(keys)
    return body


NOT_ON_CURVE = b64url(b"\x04" + b"\x01" * 64)


@pytest.mark.parametrize(
    "body",
    [
        {**Subscriber.new("https://push.example/a").json(), "endpoint": "http://push.example/a"},
        {**Subscriber.new("https://push.example/a").json(), "endpoint": "ftp://localhost/a"},
        {**Subscriber.new("https://push.example/a").json(), "endpoint": "https://"},
        _with_keys(p256dh=NOT_ON_CURVE),
        _with_keys(p256dh=b64url(secrets.token_bytes(64))),
        _with_keys(p256dh="not base64url!"),
        _with_keys(p256dh=base64.b64encode(b"\x04" + b"\xff" * 64).decode()),
        _with_keys(auth=b64url(secrets.token_bytes(15))),
        _with_keys(auth=""),
        {"endpoint": "https://push.example/a"},
        {**Subscriber.new("https://push.example/a").json(), "extra": 1},
    ],
    ids=[
        "http-not-loopback",
        "not-http",
        "no-host",
        "not-on-curve",
        "short-key",
        "not-base64",
        "plain-base64",
        "short-auth",
        "empty-auth",
        "no-keys",
        "unknown-field",
    ],
)
async def test_a_malformed_subscription_is_refused(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    user = await create_user(client, "DOCTOR")
    response = await client.post("/api/push/subscriptions", json=body, headers=user.headers)
    assert_error(response, 422)


async def test_subscriptions_need_a_user_and_a_loopback_http_endpoint_is_allowed(
    client: httpx.AsyncClient,
) -> None:
    body = Subscriber.new("http://localhost:9/push/dev").json()
    assert_error(await client.post("/api/push/subscriptions", json=body), 401)
    user = await create_user(client, "PATIENT")
    created = await client.post("/api/push/subscriptions", json=body, headers=user.headers)
    assert created.status_code == 201
    again = await client.post("/api/push/subscriptions", json=body, headers=user.headers)
    assert again.status_code == 201, "re-subscribing the same endpoint is idempotent"
    other = await create_user(client, "PATIENT")
    missing = await client.request(
        "DELETE",
        "/api/push/subscriptions",
        json={"endpoint": body["endpoint"]},
        headers=other.headers,
    )
    assert_error(missing, 404, "PUSH_SUBSCRIPTION_NOT_FOUND")


@pytest.mark.parametrize("notify_settings", [{"push_enabled": False}], indirect=True)
async def test_push_off(client: httpx.AsyncClient, notify_settings: dict[str, Any]) -> None:
    key = await client.get("/api/push/public-key")
    assert key.status_code == 200
    assert key.json() == {"enabled": False, "public_key": None}
    user = await create_user(client, "PATIENT")
    body = Subscriber.new("https://push.example/a").json()
    response = await client.post("/api/push/subscriptions", json=body, headers=user.headers)
    assert_error(response, 404, "PUSH_DISABLED")


async def test_the_service_worker_is_served_from_the_root(client: httpx.AsyncClient) -> None:
    """At `/sw.js`, so that its scope is the whole app."""
    response = await client.get("/sw.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert 'addEventListener("push"' in response.text


def _push_count(metrics: str, status: str) -> float:
    line = f'im_push_sent_total{{status="{status}"}} '
    found = [float(row.split()[-1]) for row in metrics.splitlines() if row.startswith(line)]
    return found[0] if found else 0.0


async def test_a_refusing_or_unreachable_push_service_is_counted_and_kept(
    client: httpx.AsyncClient, push_service: PushService
) -> None:
    """A 5xx or no connection is a failed push, not a gone subscription: it stays."""
    room = await consultation(client)
    refusing = await subscribe(client, push_service, room.doctor, "refusing")
    push_service.answers[refusing.endpoint] = 503
    unreachable = Subscriber.new("http://127.0.0.1:9/push/nobody")
    response = await client.post(
        "/api/push/subscriptions", json=unreachable.json(), headers=room.doctor.headers
    )
    assert response.status_code == 201
    working = await subscribe(client, push_service, room.doctor, "working")
    before = _push_count((await client.get("/metrics")).text, "failed")
    await send_ok(client, room.patient, room.group_id, "hello")
    [push] = await push_service.wait_for(1)
    assert push.endpoint == working.endpoint
    async with asyncio.timeout(10):
        while True:
            if _push_count((await client.get("/metrics")).text, "failed") >= before + 2:
                break
            await asyncio.sleep(0.05)
    for device in (refusing, unreachable):
        kept = await client.request(
            "DELETE",
            "/api/push/subscriptions",
            json={"endpoint": device.endpoint},
            headers=room.doctor.headers,
        )
        assert kept.status_code == 204


async def test_a_full_push_queue_drops_and_counts(client: httpx.AsyncClient, app: FastAPI) -> None:
    """Notices beyond the queue are dropped and counted (a pusher whose workers are not
    running, so that the queue stays full)."""
    server = app.state.server
    pusher = Pusher(
        server.core.db,
        server.core.writer,
        server.notifications.pusher.vapid,
        contact="mailto:test@localhost",
        concurrency=1,
    )
    before = _push_count((await client.get("/metrics")).text, "dropped")
    for seq in range(QUEUE_SIZE + 3):
        pusher.notify(PushNotice("group_none", seq, "user_none", {"user_none": False}))
    assert _push_count((await client.get("/metrics")).text, "dropped") == before + 3
