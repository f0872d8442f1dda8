"""Who may ask the copilot, and what it refuses (SPEC §15): a patient or a doctor of another
group → 403, an unknown group → 404, nothing to summarise or answer → 409, the AI layer off →
503 AI_DISABLED, over `AI_COPILOT_PER_MINUTE` → 429 with Retry-After; and when a switch of the
AI is a hand-over."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.realtime.slots import RedisSlots
from tests.ai.copilot_kit import ask, asked, copilot_records
from tests.ai.helpers import wait_final
from tests.ai.standin import StandInAI
from tests.databases import REDIS_URL
from tests.factories import (
    SERVICE_HEADERS,
    add_member,
    assert_error,
    consultation,
    create_user,
    send_ok,
)

KINDS = ("summary", "suggest")
REDIS = REDIS_URL or "redis://127.0.0.1:6379/0"
"""The limit's slots in Redis, shared by every instance (as in the scaled shape)."""


async def _switch(
    client: httpx.AsyncClient, group_id: str, on: bool, headers: dict[str, str]
) -> None:
    response = await client.patch(
        f"/api/group/{group_id}", json={"ai_enabled": on}, headers=headers
    )
    assert response.status_code == 200, response.text


async def test_only_the_groups_doctors_may_ask_or_read(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(client)
    await _switch(client, chat.group_id, False, SERVICE_HEADERS)  # no reply to wait for
    await send_ok(client, chat.patient, chat.group_id, "hello")
    stranger = await create_user(client, "DOCTOR")
    for what in KINDS:
        assert_error(await ask(client, chat.patient, what, chat.group_id), 403, "NOT_GROUP_DOCTOR")
        assert_error(await ask(client, stranger, what, chat.group_id), 403, "NOT_A_MEMBER")
        assert_error(await ask(client, chat.doctor, what, "group_nope"), 404, "GROUP_NOT_FOUND")
        body = {"group_id": chat.group_id}
        assert_error(await client.post(f"/api/ai/{what}", json=body), 401)
        service = await client.post(f"/api/ai/{what}", json=body, headers=SERVICE_HEADERS)
        assert_error(service, 401)  # a doctor asks: the service key is nobody's copilot
        for bad in ({"group_id": "no spaces allowed"}, {}, {**body, "kind": "REPLY"}):
            answer = await client.post(f"/api/ai/{what}", json=bad, headers=chat.doctor.headers)
            assert_error(answer, 422)
    listing = "/api/ai/copilot"
    for reader, status in ((chat.patient, 403), (stranger, 403)):
        found = await client.get(
            listing, params={"group_id": chat.group_id}, headers=reader.headers
        )
        assert_error(found, status)
    unknown = await client.get(listing, params={"group_id": "nope"}, headers=chat.doctor.headers)
    assert_error(unknown, 404, "GROUP_NOT_FOUND")
    assert_error(await client.get(listing, headers=chat.doctor.headers), 422)
    assert ai_stub.received == [], "a refused request never reaches the AI"


async def test_nothing_to_summarise_or_answer_is_409_and_not_counted(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(client)
    group_id = chat.group_id
    await _switch(client, group_id, False, chat.doctor.headers)
    assert await copilot_records(client, chat.doctor, group_id) == [], "no hand-over summary"
    assert_error(await ask(client, chat.doctor, "summary", group_id), 409, "NOTHING_TO_SUMMARISE")
    assert_error(await ask(client, chat.doctor, "suggest", group_id), 409, "NOTHING_TO_ANSWER")

    await send_ok(client, chat.doctor, group_id, "Good morning, how are you today?")
    assert_error(await ask(client, chat.doctor, "suggest", group_id), 409, "NOTHING_TO_ANSWER")
    patient_said = await send_ok(client, chat.patient, group_id, "Never mind")
    recall = f"/api/message/{patient_said['message_id']}/recall"
    assert (await client.post(recall, headers=chat.patient.headers)).status_code == 200
    assert_error(await ask(client, chat.doctor, "suggest", group_id), 409, "NOTHING_TO_ANSWER")
    await asked(client, chat.doctor, "summary", group_id)  # a doctor's message is enough


@pytest.mark.parametrize("ai_settings", [{"ai_enabled": False}], indirect=True)
async def test_the_ai_layer_off_is_503(client: httpx.AsyncClient) -> None:
    chat = await consultation(client)
    await send_ok(client, chat.patient, chat.group_id, "hello")
    for what in KINDS:
        assert_error(await ask(client, chat.doctor, what, chat.group_id), 503, "AI_DISABLED")
    listing = await client.get(
        "/api/ai/copilot", params={"group_id": chat.group_id}, headers=chat.doctor.headers
    )
    assert_error(listing, 503, "AI_DISABLED")


@pytest.mark.parametrize(
    "ai_settings",
    [{"ai_copilot_per_minute": 2}, {"ai_copilot_per_minute": 2, "broker_url": REDIS}],
    indirect=True,
    ids=["in-process", "redis"],
)
async def test_the_rate_limit_is_per_doctor_with_retry_after(
    app: FastAPI, client: httpx.AsyncClient, ai_stub: StandInAI, ai_settings: dict[str, Any]
) -> None:
    slots = app.state.server.ai.copilot.limiter.store
    assert isinstance(slots, RedisSlots) == ("broker_url" in ai_settings)
    chat = await consultation(client)
    group_id = chat.group_id
    colleague = await create_user(client, "DOCTOR")
    await add_member(client, chat.doctor, group_id, colleague, role="DOCTOR")
    assert_error(await ask(client, chat.doctor, "summary", group_id), 409)  # not counted
    await send_ok(client, chat.patient, group_id, "Is this normal?")
    await wait_final(client, group_id)  # the AI's reply: the conversation is still from here on
    await asked(client, chat.doctor, "summary", group_id)
    await asked(client, chat.doctor, "suggest", group_id)
    refused = await ask(client, chat.doctor, "suggest", group_id)
    error = assert_error(refused, 429, "RATE_LIMITED")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert error["details"]["retry_after"] == int(refused.headers["Retry-After"])
    await asked(client, colleague, "suggest", group_id)  # another doctor has their own

    # A hand-over is not a request: the switch succeeds; nothing new to summarise, no summary.
    await _switch(client, group_id, False, chat.doctor.headers)
    kinds = sorted(r["kind"] for r in await copilot_records(client, chat.doctor, group_id))
    assert kinds == ["SUGGESTION", "SUMMARY"]


async def test_only_a_doctor_switching_the_ai_off_is_a_handover(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(client)
    group_id = chat.group_id
    await send_ok(client, chat.patient, group_id, "hello")
    await wait_final(client, group_id)
    await _switch(client, group_id, False, SERVICE_HEADERS)  # the service key: no hand-over
    await _switch(client, group_id, True, chat.doctor.headers)  # switching on: none either
    rename = await client.patch(
        f"/api/group/{group_id}", json={"group_name": "Renamed"}, headers=chat.doctor.headers
    )
    assert rename.status_code == 200
    assert await copilot_records(client, chat.doctor, group_id) == []
    await _switch(client, group_id, False, chat.doctor.headers)
    [record] = await copilot_records(client, chat.doctor, group_id)
    assert record["kind"] == "SUMMARY"

    # Back and forth with nothing said meanwhile: no second summary; after a message, one.
    await _switch(client, group_id, True, chat.doctor.headers)
    await _switch(client, group_id, False, chat.doctor.headers)
    assert len(await copilot_records(client, chat.doctor, group_id)) == 1
    await _switch(client, group_id, True, chat.doctor.headers)
    await send_ok(client, chat.doctor, group_id, "How is the pain today?")
    await _switch(client, group_id, False, chat.doctor.headers)
    kinds = [r["kind"] for r in await copilot_records(client, chat.doctor, group_id)]
    assert kinds == ["SUMMARY", "SUMMARY"]
