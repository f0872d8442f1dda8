"""Webhooks (SPEC §13) against a loopback receiver that verifies every signature with the
`standardwebhooks` package: each event type and its data, retries and per-group order, a
hanging or misbehaving receiver, the admin routes, `/health` and `/metrics`."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from app.notifications.sender import MAX_RESPONSE_BYTES
from tests.changes import edit, recall
from tests.factories import (
    SERVICE_HEADERS,
    add_member,
    assert_error,
    consultation,
    create_user,
    send_ok,
)
from tests.notifications.helpers import deliveries, wait_status
from tests.notifications.receivers import WebhookReceiver


async def test_message_created_names_offline_members_and_mentions(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    room = await consultation(client)
    sent = await send_ok(
        client, room.patient, room.group_id, "Fever since noon", mentions=[room.doctor.user_id]
    )
    [event] = await receiver.wait_for(1, "message.created")
    assert set(event) == {"type", "timestamp", "data"}
    data = event["data"]
    assert data["group_id"] == room.group_id
    assert data["message"]["message_id"] == sent["message_id"]
    assert data["message"]["msg_content"] == "Fever since noon"
    assert data["message"]["seq"] == sent["seq"]
    # Nobody holds a socket here: every member is offline.
    assert data["offline_member_ids"] == sorted([room.doctor.user_id, room.patient.user_id])
    assert data["mentioned_user_ids"] == [room.doctor.user_id]
    assert receiver.bad_signatures == 0


async def test_membership_recall_and_hand_over_events(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    room = await consultation(client)
    [joined] = await receiver.wait_for(1, "member.joined")
    assert joined["data"] == {
        "group_id": room.group_id,
        "user_id": room.patient.user_id,
        "user_role": "PATIENT",
    }
    sent = await send_ok(client, room.patient, room.group_id, "I took the wrong pill")
    assert (await edit(client, room.patient, sent["message_id"], "wrong pills")).status_code == 200
    assert (await recall(client, room.patient, sent["message_id"])).status_code == 200
    [recalled] = await receiver.wait_for(1, "message.recalled")
    assert recalled["data"]["message"]["msg_type"] == "RECALL"
    assert recalled["data"]["message"]["target_message_id"] == sent["message_id"]
    assert recalled["data"]["mentioned_user_ids"] == []

    rename = await client.patch(
        f"/api/group/{room.group_id}", json={"group_name": "Renamed"}, headers=room.doctor.headers
    )
    assert rename.status_code == 200
    off = await client.patch(
        f"/api/group/{room.group_id}", json={"ai_enabled": False}, headers=room.doctor.headers
    )
    assert off.status_code == 200
    [toggled] = await receiver.wait_for(1, "group.ai_toggled")
    assert toggled["data"] == {"group_id": room.group_id, "ai_enabled": False}

    gone = await client.delete(
        f"/api/group/{room.group_id}/members/{room.patient.user_id}", headers=room.doctor.headers
    )
    assert gone.status_code == 204
    [left] = await receiver.wait_for(1, "member.left")
    assert left["data"] == {
        "group_id": room.group_id,
        "user_id": room.patient.user_id,
        "user_role": "PATIENT",
    }
    # An edit reports nothing, a rename nothing; the order is the order of the changes.
    kinds = [body["type"] for body in receiver.accepted()]
    assert kinds == [
        "member.joined",
        "message.created",
        "message.recalled",
        "group.ai_toggled",
        "member.left",
    ]


@pytest.mark.parametrize(
    "notify_settings",
    [
        {
            "ai_enabled": True,
            "ai_provider": "http",
            "ai_service_url": "http://127.0.0.1:9/chat",
            "ai_max_retries": 0,
            "ai_service_timeout": 1.0,
        }
    ],
    indirect=True,
)
async def test_an_ai_failure_is_reported(
    client: httpx.AsyncClient, receiver: WebhookReceiver, notify_settings: dict[str, Any]
) -> None:
    room = await consultation(client)
    await send_ok(client, room.patient, room.group_id, "Is this rash serious?")
    [failed] = await receiver.wait_for(1, "ai.failed")
    records = await client.get(
        "/api/ai/interactions", params={"group_id": room.group_id}, headers=SERVICE_HEADERS
    )
    [record] = records.json()["records"]
    assert record["status"] == "FAILED"
    assert failed["data"] == {
        "group_id": room.group_id,
        "record_id": record["record_id"],
        "error_message": record["error_message"],
    }
    # The AI assistant never connects: it is not someone to notify.
    [created] = receiver.accepted("message.created")
    assistant_ids = {
        m["user_id"]
        for m in (
            await client.get(f"/api/group/{room.group_id}/members", headers=room.doctor.headers)
        ).json()
        if m["user_role"] == "AI_ASSISTANT"
    }
    assert assistant_ids and not assistant_ids & set(created["data"]["offline_member_ids"])


async def test_a_500_is_retried_and_delivered_once_in_group_order(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    room = await consultation(client)
    await receiver.wait_for(1, "member.joined")
    receiver.then(status=500).then(status=503)
    sent = [await send_ok(client, room.patient, room.group_id, f"note {n}") for n in range(6)]
    bodies = await receiver.wait_for(6, "message.created")
    assert [b["data"]["message"]["seq"] for b in bodies] == [m["seq"] for m in sent]
    ids = [d.webhook_id for d in receiver.deliveries if d.answered == 200]
    assert len(ids) == len(set(ids)), "each delivery accepted once"
    statuses = [d.answered for d in receiver.deliveries]
    assert statuses[1:4] == [500, 503, 200], "the first message's delivery was retried"
    first = (await deliveries(client, "DELIVERED"))[-2]  # newest first: [-1] is the join
    assert first["attempts"] == 3 and first["last_status_code"] == 200
    assert first["last_error"] is None and first["delivered_at"] is not None


@pytest.mark.parametrize("notify_settings", [{"webhook_timeout": 5.0}], indirect=True)
async def test_a_hanging_receiver_never_slows_sends(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    room = await consultation(client)
    for _ in range(50):
        receiver.then("hang")
    await asyncio.wait_for(receiver.requested.wait(), 5)  # the receiver holds an attempt
    slowest = 0.0
    for n in range(30):
        before = time.perf_counter()
        await send_ok(client, room.patient, room.group_id, f"are you there {n}")
        slowest = max(slowest, time.perf_counter() - before)
    # A send held up by the receiver would take its 5 s timeout; the margin is for a busy box.
    assert slowest < 2.0, f"a send took {slowest:.3f} s"
    # Nothing was lost: once the receiver answers again, everything arrives.
    receiver.queue.clear()
    receiver.release.set()
    bodies = await receiver.wait_for(30, "message.created", within=30)
    assert [b["data"]["message"]["msg_content"] for b in bodies] == [
        f"are you there {n}" for n in range(30)
    ]


async def test_a_huge_answer_is_read_with_a_cap(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    receiver.then("huge")
    await create_user(client, "DOCTOR")
    room = await consultation(client)
    await wait_status(client, "DELIVERED")
    [joined] = [d for d in await deliveries(client) if d["event_type"] == "member.joined"]
    assert joined["status"] == "DELIVERED" and joined["last_status_code"] == 200
    assert receiver.huge_bytes_sent < 16 * 1024 * 1024, "the client stopped reading"
    assert MAX_RESPONSE_BYTES == 64 * 1024
    assert room.group_id == joined["group_id"]


@pytest.mark.parametrize("notify_settings", [{"webhook_timeout": 0.5}], indirect=True)
async def test_a_trickling_answer_times_out_and_is_retried(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    receiver.then("trickle", delay=0.05)
    await consultation(client)
    [delivered] = await wait_status(client, "DELIVERED")
    assert delivered["attempts"] == 2
    assert receiver.requests == 2


@pytest.mark.parametrize(
    "notify_settings",
    [{"webhook_max_hours": 0.001, "webhook_retry_base_seconds": 5.0}],
    indirect=True,
)
async def test_admin_lists_and_retries_a_failed_delivery(
    client: httpx.AsyncClient, receiver: WebhookReceiver, notify_settings: dict[str, Any]
) -> None:
    """With 3.6 s to live and a first retry due after ~5 s, one refused attempt is final."""
    receiver.then(status=500)
    room = await consultation(client)
    [failed] = await wait_status(client, "FAILED")
    assert failed["attempts"] == 1 and failed["last_status_code"] == 500
    assert failed["last_error"] == "answered 500"
    assert await deliveries(client, "PENDING") == []

    patient_headers = room.patient.headers
    assert_error(
        await client.post(
            f"/api/admin/webhook-deliveries/{failed['delivery_id']}/retry", headers=patient_headers
        ),
        403,
        "SERVICE_KEY_REQUIRED",
    )
    assert_error(await client.get("/api/admin/webhook-deliveries"), 401)
    assert_error(
        await client.get("/api/admin/webhook-deliveries", headers=patient_headers),
        403,
        "SERVICE_KEY_REQUIRED",
    )
    assert_error(
        await client.get(
            "/api/admin/webhook-deliveries", params={"status": "LOST"}, headers=SERVICE_HEADERS
        ),
        422,
    )
    assert_error(
        await client.post("/api/admin/webhook-deliveries/evt_nope/retry", headers=SERVICE_HEADERS),
        404,
        "WEBHOOK_DELIVERY_NOT_FOUND",
    )
    retried = await client.post(
        f"/api/admin/webhook-deliveries/{failed['delivery_id']}/retry", headers=SERVICE_HEADERS
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] in ("PENDING", "DELIVERED")
    [delivered] = await wait_status(client, "DELIVERED")
    assert delivered["delivery_id"] == failed["delivery_id"]
    [body] = receiver.accepted("member.joined")
    assert body["data"]["user_id"] == room.patient.user_id


@pytest.mark.parametrize("notify_settings", [{"webhook_timeout": 5.0}], indirect=True)
async def test_retry_of_a_delivery_in_flight_is_a_conflict(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    receiver.then("hang")
    await consultation(client)
    await asyncio.wait_for(receiver.requested.wait(), 5)
    [pending] = await deliveries(client, "PENDING")
    assert_error(
        await client.post(
            f"/api/admin/webhook-deliveries/{pending['delivery_id']}/retry",
            headers=SERVICE_HEADERS,
        ),
        409,
        "WEBHOOK_DELIVERY_IN_FLIGHT",
    )


@pytest.mark.parametrize(
    "notify_settings",
    [{"webhook_backlog_alert_seconds": 0.2, "webhook_retry_base_seconds": 30.0}],
    indirect=True,
)
async def test_health_reports_an_old_backlog_and_metrics_count_outcomes(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    healthy = (await client.get("/health")).json()
    assert healthy["webhooks"] == "ok" and healthy["webhook_backlog_seconds"] == 0.0
    receiver.then(status=500)
    await consultation(client)
    async with asyncio.timeout(10):
        while True:
            response = await client.get("/health")
            if response.json()["webhooks"] == "backlog":
                break
            await asyncio.sleep(0.05)
    assert response.status_code == 200, "a receiver's outage does not degrade this instance"
    assert response.json()["webhook_backlog_seconds"] > 0.2
    metrics = (await client.get("/metrics")).text
    assert 'im_webhook_deliveries_total{status="retry"}' in metrics
    assert "im_webhook_delivery_lag_seconds_bucket" in metrics


@pytest.mark.parametrize("notify_settings", [{"webhook_url": ""}], indirect=True)
async def test_webhooks_off_stage_nothing(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    room = await consultation(client)
    await send_ok(client, room.patient, room.group_id, "hello")
    assert await deliveries(client) == []
    assert (await client.get("/health")).json()["webhooks"] == "off"
    assert_error(
        await client.post("/api/admin/webhook-deliveries/evt_x/retry", headers=SERVICE_HEADERS),
        409,
        "WEBHOOKS_DISABLED",
    )
    assert receiver.requests == 0


async def test_a_new_member_of_a_busy_group_is_reported_between_messages(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    room = await consultation(client)
    await send_ok(client, room.patient, room.group_id, "before")
    nurse = await create_user(client, "DOCTOR")
    await add_member(client, room.doctor, room.group_id, nurse)
    await send_ok(client, room.patient, room.group_id, "after")
    await receiver.wait_for(4)
    kinds = [(b["type"], b["data"].get("user_id")) for b in receiver.accepted()]
    assert kinds == [
        ("member.joined", room.patient.user_id),
        ("message.created", None),
        ("member.joined", nurse.user_id),
        ("message.created", None),
    ]
    last = receiver.accepted("message.created")[-1]["data"]
    assert nurse.user_id in last["offline_member_ids"]
