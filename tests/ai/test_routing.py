"""Routing (SPEC §7): by the sender's role in the group, the group's ai_enabled and AI_ENABLED.

The routing decision is made in the send's own transaction (the outbox), so a send that is not
routed has no record the moment it is answered; a later routed send is the barrier for "the AI
was never called"."""

import httpx
import pytest
from fastapi import FastAPI

from app.services.ai.routing import routes_to_ai
from tests.ai.helpers import messages, records, wait_final
from tests.ai.standin import StandInAI
from tests.factories import add_member, consultation, create_group, create_user, send


async def test_patient_message_gets_ai_reply_pushed_as_assistant(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    ai_stub.then("ok", reply="Drink water and rest.")
    chat = await consultation(client)
    sent = await send(client, chat.patient, chat.group_id, "I have a headache")
    assert sent.status_code == 201

    [record] = await wait_final(client, chat.group_id)
    assert record["status"] == "SUCCESS"
    assert record["user_message_id"] == sent.json()["message_id"]
    assert record["response_content"] == "Drink water and rest."
    assert record["attempts"] == 1 and record["duration_ms"] is not None
    assert record["ai_service_url"] == ai_stub.chat_url

    history = await messages(client, chat.patient.token, chat.group_id)
    reply = history[-1]
    assert reply["message_id"] == record["ai_message_id"]
    assert reply["from_user_role"] == "AI_ASSISTANT"
    assert reply["msg_content"] == "Drink water and rest."
    assert reply["seq"] == sent.json()["seq"] + 1


async def test_doctor_message_is_not_routed(client: httpx.AsyncClient, ai_stub: StandInAI) -> None:
    chat = await consultation(client)
    assert (await send(client, chat.doctor, chat.group_id, "How are you?")).status_code == 201
    assert await records(client, chat.group_id) == []
    await send(client, chat.patient, chat.group_id, "the patient answers")
    await wait_final(client, chat.group_id)
    assert [r.body["message"] for r in ai_stub.received] == ["the patient answers"]


async def test_group_role_beats_system_role(client: httpx.AsyncClient, ai_stub: StandInAI) -> None:
    owner = await create_user(client, "DOCTOR")
    doctor_as_patient = await create_user(client, "DOCTOR")
    patient_as_doctor = await create_user(client, "PATIENT")
    group = (await create_group(client, owner))["group_id"]
    await add_member(client, owner, group, doctor_as_patient, role="PATIENT")
    await add_member(client, owner, group, patient_as_doctor, role="DOCTOR")

    await send(client, patient_as_doctor, group, "not routed: a doctor in this group")
    await send(client, doctor_as_patient, group, "routed: a patient in this group")
    [record] = await wait_final(client, group)
    assert record["status"] == "SUCCESS"
    assert [r.body["message"] for r in ai_stub.received] == ["routed: a patient in this group"]


async def test_ai_disabled_group_stops_routing(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(client)
    response = await client.patch(
        f"/api/group/{chat.group_id}", json={"ai_enabled": False}, headers=chat.doctor.headers
    )
    assert response.status_code == 200 and response.json()["ai_enabled"] is False
    await send(client, chat.patient, chat.group_id, "anyone there?")
    assert await records(client, chat.group_id) == []
    await client.patch(
        f"/api/group/{chat.group_id}", json={"ai_enabled": True}, headers=chat.doctor.headers
    )
    await send(client, chat.patient, chat.group_id, "AI back on")
    await wait_final(client, chat.group_id)
    assert [r.body["message"] for r in ai_stub.received] == ["AI back on"]


@pytest.mark.parametrize("ai_settings", [{"ai_enabled": False}], indirect=True)
async def test_ai_layer_off_runs_core_alone(
    client: httpx.AsyncClient, app: FastAPI, ai_stub: StandInAI
) -> None:
    chat = await consultation(client)
    members = await client.get(f"/api/group/{chat.group_id}/members", headers=chat.doctor.headers)
    assert {m["user_role"] for m in members.json()} == {"DOCTOR", "PATIENT"}
    assert (await send(client, chat.patient, chat.group_id, "hello")).status_code == 201
    assert await records(client, chat.group_id) == []
    assert app.state.server.ai is None
    assert ai_stub.received == []


@pytest.mark.parametrize(
    ("group_ai_enabled", "role", "msg_type", "mentions_assistant", "routed"),
    [
        (True, "PATIENT", "TEXT", False, True),
        (False, "PATIENT", "TEXT", False, False),
        (False, "PATIENT", "TEXT", True, False),
        (True, "DOCTOR", "TEXT", False, False),
        (True, "DOCTOR", "TEXT", True, True),
        (False, "DOCTOR", "TEXT", True, True),
        (True, "AI_ASSISTANT", "TEXT", False, False),
        (True, "AI_ASSISTANT", "TEXT", True, False),
        (True, "PATIENT", "SYSTEM", False, False),
        (True, "PATIENT", "EDIT", False, False),
        (True, "PATIENT", "RECALL", False, False),
        (False, "DOCTOR", "EDIT", True, False),
    ],
)
def test_the_routing_rule(
    group_ai_enabled: bool, role: str, msg_type: str, mentions_assistant: bool, routed: bool
) -> None:
    assert (
        routes_to_ai(
            group_ai_enabled=group_ai_enabled,
            sender_group_role=role,
            msg_type=msg_type,
            mentions_assistant=mentions_assistant,
        )
        is routed
    )


async def test_groups_include_the_ai_assistant(client: httpx.AsyncClient) -> None:
    chat = await consultation(client)
    members = await client.get(f"/api/group/{chat.group_id}/members", headers=chat.doctor.headers)
    roles = {m["user_role"]: m["user_id"] for m in members.json()}
    assert roles["AI_ASSISTANT"] == "user_ai_assistant"
