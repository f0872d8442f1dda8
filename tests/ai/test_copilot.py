"""The copilot for doctors (SPEC §15) through HTTP and WebSocket, with the loopback AI stand-in:
the hand-over summary and reply suggestions reach the doctors they are for and never a patient,
and are never messages of the group."""

import httpx
from fastapi import FastAPI

from app.config import DEFAULT_AI_SUGGEST_PROMPT, DEFAULT_AI_SUMMARY_PROMPT
from tests.ai.copilot_kit import (
    asked,
    copilot_records,
    heard_nothing,
    socket,
    wait_copilot,
)
from tests.ai.helpers import messages, records, wait_final
from tests.ai.standin import StandInAI
from tests.conftest import LiveServer
from tests.factories import (
    TestUser,
    add_member,
    consultation,
    create_user,
    my_groups,
    send_ok,
)


async def _colleague(client: httpx.AsyncClient, doctor: TestUser, group_id: str) -> TestUser:
    colleague = await create_user(client, "DOCTOR")
    await add_member(client, doctor, group_id, colleague, role="DOCTOR")
    return colleague


async def _ai_off(client: httpx.AsyncClient, doctor: TestUser, group_id: str) -> None:
    response = await client.patch(
        f"/api/group/{group_id}", json={"ai_enabled": False}, headers=doctor.headers
    )
    assert response.status_code == 200, response.text


async def test_handover_summary_reaches_the_doctors_and_never_the_patient(
    live_server: LiveServer, live_client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(live_client)
    group_id = chat.group_id
    colleague = await _colleague(live_client, chat.doctor, group_id)
    ai_stub.then("ok", reply="Rest and drink water.")
    await send_ok(live_client, chat.patient, group_id, "I have had a headache for three days")
    await wait_final(live_client, group_id)
    await send_ok(live_client, chat.doctor, group_id, "I will take it from here")
    summary = "Headache for three days; the AI advised rest. Open: fever?"
    ai_stub.then("ok", reply=summary)
    unread_before = (await my_groups(live_client, chat.patient))[group_id]["unread_count"]

    async with (
        socket(live_server, chat.doctor) as doctor,
        socket(live_server, colleague) as other,
        socket(live_server, chat.patient) as patient,
    ):
        await _ai_off(live_client, chat.doctor, group_id)
        [staged] = await copilot_records(live_client, chat.doctor, group_id)
        assert staged["kind"] == "SUMMARY" and staged["requested_by"] == chat.doctor.user_id
        for listener in (doctor, other):
            done = await listener.copilot_done(staged["record_id"])
            assert done == {
                "type": "ai_copilot",
                "group_id": group_id,
                "record_id": staged["record_id"],
                "kind": "SUMMARY",
                "status": "SUCCESS",
                "content": summary,
            }
        assert (await my_groups(live_client, chat.patient))[group_id]["unread_count"] == (
            unread_before
        )
        await heard_nothing(live_client, chat.doctor, group_id, patient)

    request = ai_stub.received[-1]
    assert request.path == "/chat"
    assert request.body == {
        "message": DEFAULT_AI_SUMMARY_PROMPT,
        "kind": "SUMMARY",
        "history": [
            {"role": "user", "content": "I have had a headache for three days"},
            {"role": "assistant", "content": "Rest and drink water."},
            {
                "role": "user",
                "content": f"[Doctor {chat.doctor.username}] I will take it from here",
            },
        ],
    }
    record = await wait_copilot(live_client, colleague, group_id, staged["record_id"])
    assert record == {
        **staged,
        "status": "SUCCESS",
        "content": summary,
        "error": None,
    }
    stored = [m["msg_content"] for m in await messages(live_client, chat.patient.token, group_id)]
    assert summary not in stored and DEFAULT_AI_SUMMARY_PROMPT not in stored
    # The AI records listing keeps its meaning: the replies to patients only.
    assert [r["response_content"] for r in await records(live_client, group_id)] == [
        "Rest and drink water."
    ]


async def test_a_suggestion_goes_to_the_asking_doctor_only(
    live_server: LiveServer, live_client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(live_client)
    group_id = chat.group_id
    colleague = await _colleague(live_client, chat.doctor, group_id)
    await _ai_off(live_client, chat.doctor, group_id)  # nothing to summarise yet: no record
    await send_ok(live_client, chat.patient, group_id, "Can I take ibuprofen?")
    draft = "Yes, 400 mg after a meal, at most three times a day."
    ai_stub.then("ok", reply=draft)

    async with (
        socket(live_server, chat.doctor) as doctor,
        socket(live_server, colleague) as other,
        socket(live_server, chat.patient) as patient,
    ):
        record_id = await asked(live_client, chat.doctor, "suggest", group_id)
        done = await doctor.copilot_done(record_id)
        assert (done["kind"], done["status"], done["content"]) == ("SUGGESTION", "SUCCESS", draft)
        await heard_nothing(live_client, chat.doctor, group_id, other, patient)

    [request] = ai_stub.received
    assert request.body == {
        "message": DEFAULT_AI_SUGGEST_PROMPT,
        "kind": "SUGGESTION",
        "history": [{"role": "user", "content": "Can I take ibuprofen?"}],
    }
    [mine] = await copilot_records(live_client, chat.doctor, group_id)
    assert (mine["record_id"], mine["kind"], mine["requested_by"], mine["content"]) == (
        record_id,
        "SUGGESTION",
        chat.doctor.user_id,
        draft,
    )
    assert await copilot_records(live_client, colleague, group_id) == []
    stored = [m["msg_content"] for m in await messages(live_client, chat.patient.token, group_id)]
    assert draft not in stored


async def test_a_summary_asked_for_reaches_every_doctor_of_the_group(
    live_server: LiveServer, live_client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(live_client)
    group_id = chat.group_id
    colleague = await _colleague(live_client, chat.doctor, group_id)
    await _ai_off(live_client, chat.doctor, group_id)
    await send_ok(live_client, chat.patient, group_id, "My knee hurts when I climb stairs")
    ai_stub.then("ok", reply="Knee pain on stairs.")
    async with (
        socket(live_server, chat.doctor) as doctor,
        socket(live_server, colleague) as other,
        socket(live_server, chat.patient) as patient,
    ):
        record_id = await asked(live_client, colleague, "summary", group_id)
        for listener in (doctor, other):
            assert (await listener.copilot_done(record_id))["content"] == "Knee pain on stairs."
        await heard_nothing(live_client, chat.doctor, group_id, patient)
    for reader in (chat.doctor, colleague):
        [record] = await copilot_records(live_client, reader, group_id)
        assert (record["kind"], record["requested_by"]) == ("SUMMARY", colleague.user_id)


async def test_an_ai_failure_ends_failed_with_an_event_to_the_doctors(
    live_server: LiveServer, live_client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(live_client)
    group_id = chat.group_id
    await _ai_off(live_client, chat.doctor, group_id)
    await send_ok(live_client, chat.patient, group_id, "Is this rash serious?")
    ai_stub.then("status", status=400)
    async with (
        socket(live_server, chat.doctor) as doctor,
        socket(live_server, chat.patient) as patient,
    ):
        record_id = await asked(live_client, chat.doctor, "summary", group_id)
        done = await doctor.copilot_done(record_id)
        assert done == {
            "type": "ai_copilot",
            "group_id": group_id,
            "record_id": record_id,
            "kind": "SUMMARY",
            "status": "FAILED",
            "content": None,
            "error": "AI service answered HTTP 400",
        }
        await heard_nothing(live_client, chat.doctor, group_id, patient)
    record = await wait_copilot(live_client, chat.doctor, group_id, record_id)
    assert (record["status"], record["content"], record["error"]) == (
        "FAILED",
        None,
        done["error"],
    )


async def test_retryable_failures_are_retried_like_replies(
    app: FastAPI, client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(client)
    await _ai_off(client, chat.doctor, chat.group_id)
    await send_ok(client, chat.patient, chat.group_id, "Still dizzy")
    ai_stub.then("status", status=503).then("ok", reply="Dizziness, second day.")
    record_id = await asked(client, chat.doctor, "summary", chat.group_id)
    record = await wait_copilot(client, chat.doctor, chat.group_id, record_id)
    assert (record["status"], record["content"]) == ("SUCCESS", "Dizziness, second day.")
    assert len(ai_stub.received) == 2


async def test_the_role_in_the_group_decides_not_the_account_role(
    live_server: LiveServer, live_client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    """A doctor's account in a group as a PATIENT (a doctor consulting for themselves) may not
    ask, and never hears the group's summaries."""
    chat = await consultation(live_client)
    group_id = chat.group_id
    consulting = await create_user(live_client, "DOCTOR")
    await add_member(live_client, chat.doctor, group_id, consulting, role="PATIENT")
    await _ai_off(live_client, chat.doctor, group_id)
    await send_ok(live_client, consulting, group_id, "I am a doctor, but here I am the patient")
    for what in ("summary", "suggest"):
        refused = await live_client.post(
            f"/api/ai/{what}", json={"group_id": group_id}, headers=consulting.headers
        )
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "NOT_GROUP_DOCTOR"
    ai_stub.then("ok", reply="A doctor as the patient.")
    async with (
        socket(live_server, chat.doctor) as doctor,
        socket(live_server, consulting) as patient,
    ):
        record_id = await asked(live_client, chat.doctor, "summary", group_id)
        assert (await doctor.copilot_done(record_id))["content"] == "A doctor as the patient."
        await heard_nothing(live_client, chat.doctor, group_id, patient)
