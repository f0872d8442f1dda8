"""Routing (SPEC §7): by the sender's role in the group, the group's ai_enabled and AI_ENABLED."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from app.services.ai.message_router_service import MessageRouterService
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
    await asyncio.sleep(0.3)
    assert await records(client, chat.group_id) == []
    assert ai_stub.received == []


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
    await asyncio.sleep(0.3)
    assert await records(client, chat.group_id) == []
    assert ai_stub.received == []


@pytest.mark.parametrize("ai_settings", [{"ai_enabled": False}], indirect=True)
async def test_ai_layer_off_runs_core_alone(
    client: httpx.AsyncClient, app: FastAPI, ai_stub: StandInAI
) -> None:
    chat = await consultation(client)
    members = await client.get(f"/api/group/{chat.group_id}/members", headers=chat.doctor.headers)
    assert {m["user_role"] for m in members.json()} == {"DOCTOR", "PATIENT"}
    await send(client, chat.patient, chat.group_id, "hello")
    await asyncio.sleep(0.3)
    assert ai_stub.received == []
    assert app.state.container.messages.hooks == []


async def test_router_service_answers_by_group_role(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    chat = await consultation(client)
    router = MessageRouterService(app.state.container.db, ai_layer_enabled=True)
    assert await router.get_user_role_in_group(chat.group_id, chat.patient.user_id) == "PATIENT"
    assert await router.should_route_to_ai(chat.group_id, chat.patient.user_id)
    assert not await router.should_route_to_ai(chat.group_id, chat.doctor.user_id)
    assert not await router.should_route_to_ai(chat.group_id, "user_nobody")
    assert not await MessageRouterService(
        app.state.container.db, ai_layer_enabled=False
    ).should_route_to_ai(chat.group_id, chat.patient.user_id)


async def test_groups_include_the_ai_assistant(client: httpx.AsyncClient) -> None:
    chat = await consultation(client)
    members = await client.get(f"/api/group/{chat.group_id}/members", headers=chat.doctor.headers)
    roles = {m["user_role"]: m["user_id"] for m in members.json()}
    assert roles["AI_ASSISTANT"] == "user_ai_assistant"
