"""The scaled shape (SPEC §1): two server processes on one PostgreSQL and one Redis; a message,
a presence change or a membership change made through one instance reaches the sockets of the
other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from tests.factories import TestUser, add_member, create_group, create_user, send
from tests.integration.clients import WsClient, http_client
from tests.integration.conftest import ServerFactory
from tests.integration.processes import ServerProcess


@dataclass
class Pair:
    a: ServerProcess
    b: ServerProcess
    http_a: httpx.AsyncClient
    http_b: httpx.AsyncClient


@pytest.fixture
async def pair(
    servers: ServerFactory, scaled_database_url: str, redis_url: str, redis_prefix: str
) -> AsyncIterator[Pair]:
    common = {
        "database_url": scaled_database_url,
        "broker_url": redis_url,
        "redis_prefix": redis_prefix,
    }
    a = await servers.start("a", **common)
    b = await servers.start("b", **common)
    async with http_client(a) as http_a, http_client(b) as http_b:
        for http in (http_a, http_b):
            health = (await http.get("/health")).json()
            assert (health["database"], health["broker"]) == ("ok", "ok")
        yield Pair(a, b, http_a, http_b)


async def _group_of(pair: Pair, *users: TestUser) -> tuple[TestUser, str]:
    doctor = await create_user(pair.http_a, "DOCTOR")
    group = await create_group(pair.http_a, doctor)
    for user in users:
        await add_member(pair.http_b, doctor, group["group_id"], user)
    return doctor, group["group_id"]


async def test_messages_cross_instances_both_ways(pair: Pair) -> None:
    patient = await create_user(pair.http_b, "PATIENT")
    doctor, group_id = await _group_of(pair, patient)
    doctor_a = await WsClient.open(pair.a, doctor)
    patient_b = await WsClient.open(pair.b, patient)
    doctor_b = await WsClient.open(pair.b, doctor)  # the doctor's second device
    try:
        # WebSocket send on A reaches B (and the sender's other device), not the sending socket.
        await doctor_a.send(
            {"type": "send_message", "group_id": group_id, "content": "ws A", "client_msg_id": "d1"}
        )
        sent = await doctor_a.expect(lambda e: e["type"] == "message_sent")
        message_id = sent["message"]["message_id"]
        assert (await patient_b.expect_message(message_id))["msg_content"] == "ws A"
        assert (await doctor_b.expect_message(message_id))["client_msg_id"] == "d1"

        # WebSocket send on B reaches A.
        await patient_b.send({"type": "send_message", "group_id": group_id, "content": "ws B"})
        sent_b = await patient_b.expect(lambda e: e["type"] == "message_sent")
        received = await doctor_a.expect_message(sent_b["message"]["message_id"])
        assert received["from_user_id"] == patient.user_id
        assert received["from_user_role"] == "PATIENT"

        # HTTP to the *other* instance: the doctor (socket on A) posts through B, and the
        # patient (socket on B) posts through A; every socket of every member gets it.
        via_b = await send(pair.http_b, doctor, group_id, "http via B")
        assert via_b.status_code == 201, via_b.text
        for client in (doctor_a, patient_b, doctor_b):
            await client.expect_message(via_b.json()["message_id"])
        via_a = await send(pair.http_a, patient, group_id, "http via A")
        assert via_a.status_code == 201, via_a.text
        for client in (doctor_a, patient_b):
            await client.expect_message(via_a.json()["message_id"])

        # The sending connection got `message_sent` only, never its own `message`.
        echoed = await doctor_a.quiet(
            lambda e: e["type"] == "message" and e["message"]["message_id"] == message_id, 0.3
        )
        assert echoed == []

        # Seqs as every instance saw them: one counter per group, in commit order.
        history, _ = await patient_b.sync(group_id)
        contents = [m["msg_content"] for m in history if m["msg_type"] == "TEXT"]
        assert contents == ["ws A", "ws B", "http via B", "http via A"]
        assert [m["seq"] for m in history] == list(range(1, len(history) + 1))

        # Typing and read marks cross instances too.
        await patient_b.send({"type": "typing", "group_id": group_id})
        typing = await doctor_a.expect(lambda e: e["type"] == "typing")
        assert typing == {"type": "typing", "group_id": group_id, "user_id": patient.user_id}
        last_seq = history[-1]["seq"]
        read = await pair.http_b.post(
            "/api/message/read",
            json={"group_id": group_id, "seq": last_seq},
            headers=patient.headers,
        )
        assert read.status_code == 200, read.text
        mark = await doctor_a.expect(lambda e: e["type"] == "read")
        assert (mark["user_id"], mark["seq"]) == (patient.user_id, last_seq)
    finally:
        for client in (doctor_a, patient_b, doctor_b):
            await client.close()


async def test_presence_crosses_instances(pair: Pair) -> None:
    patient = await create_user(pair.http_a, "PATIENT")
    doctor, group_id = await _group_of(pair, patient)
    doctor_a = await WsClient.open(pair.a, doctor)
    try:
        members = await pair.http_b.get(f"/api/group/{group_id}/members", headers=doctor.headers)
        online = {m["user_id"]: m["online"] for m in members.json()}
        assert online == {doctor.user_id: True, patient.user_id: False}

        patient_b = await WsClient.open(pair.b, patient)
        came = await doctor_a.expect(lambda e: e["type"] == "presence")
        assert came == {"type": "presence", "user_id": patient.user_id, "online": True}
        members = await pair.http_a.get(f"/api/group/{group_id}/members", headers=doctor.headers)
        assert {m["user_id"]: m["online"] for m in members.json()}[patient.user_id] is True

        await patient_b.close()
        went = await doctor_a.expect(lambda e: e["type"] == "presence")
        assert went == {"type": "presence", "user_id": patient.user_id, "online": False}
        members = await pair.http_a.get(f"/api/group/{group_id}/members", headers=doctor.headers)
        assert {m["user_id"]: m["online"] for m in members.json()}[patient.user_id] is False
    finally:
        await doctor_a.close()


async def test_membership_change_on_one_instance_routes_messages_sent_on_the_other(
    pair: Pair,
) -> None:
    patient = await create_user(pair.http_a, "PATIENT")
    doctor, group_id = await _group_of(pair, patient)
    newcomer = await create_user(pair.http_a, "PATIENT")
    doctor_a = await WsClient.open(pair.a, doctor)
    newcomer_a = await WsClient.open(pair.a, newcomer)
    patient_b = await WsClient.open(pair.b, patient)
    try:
        # Warm A's member cache for the group (doctor and patient only).
        before = await send(pair.http_b, patient, group_id, "before the newcomer")
        await doctor_a.expect_message(before.json()["message_id"])
        assert await newcomer_a.quiet(lambda e: e["type"] == "message", 0.3) == []

        # Added through A; a message sent through B must reach the newcomer on A.
        await add_member(pair.http_a, doctor, group_id, newcomer)
        joined = await newcomer_a.expect(lambda e: e["type"] == "member_joined")
        assert (joined["user_id"], joined["group_id"]) == (newcomer.user_id, group_id)
        await patient_b.expect(lambda e: e["type"] == "member_joined")
        welcome = await send(pair.http_b, patient, group_id, "welcome")
        assert welcome.status_code == 201, welcome.text
        got = await newcomer_a.expect_message(welcome.json()["message_id"])
        assert got["msg_content"] == "welcome"
        ws_welcome = {"type": "send_message", "group_id": group_id, "content": "over ws on B"}
        await patient_b.send(ws_welcome)
        sent = await patient_b.expect(lambda e: e["type"] == "message_sent")
        await newcomer_a.expect_message(sent["message"]["message_id"])

        # Removed through B; a message sent through A no longer reaches them on A.
        removed = await pair.http_b.delete(
            f"/api/group/{group_id}/members/{newcomer.user_id}", headers=doctor.headers
        )
        assert removed.status_code == 204, removed.text
        left = await newcomer_a.expect(lambda e: e["type"] == "member_left")
        assert left["user_id"] == newcomer.user_id
        await doctor_a.expect(lambda e: e["type"] == "member_left")
        after = await send(pair.http_a, doctor, group_id, "after the newcomer left")
        await patient_b.expect_message(after.json()["message_id"])
        leaked = await newcomer_a.quiet(
            lambda e: e["type"] == "message" and e["message"]["msg_content"].startswith("after"),
            0.5,
        )
        assert leaked == []
    finally:
        for client in (doctor_a, newcomer_a, patient_b):
            await client.close()
