"""The AI and the message model (SPEC §11): EDIT and RECALL entries never go to the AI, its
history shows messages in their current state and never a recalled one, a recalled question is
never answered, and a doctor who mentions the assistant consults it even with the AI off."""

import asyncio
from typing import Any

import httpx
import pytest

from tests.ai.helpers import eventually, messages, records, wait_final
from tests.ai.standin import StandInAI
from tests.changes import edit, recall
from tests.factories import consultation, send_ok

ASSISTANT = "user_ai_assistant"


async def set_ai(client: httpx.AsyncClient, doctor: Any, group_id: str, on: bool) -> None:
    response = await client.patch(
        f"/api/group/{group_id}", json={"ai_enabled": on}, headers=doctor.headers
    )
    assert response.status_code == 200, response.text


async def test_history_shows_current_state_and_never_a_recalled_message(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(client)
    await set_ai(client, chat.doctor, chat.group_id, False)
    await send_ok(client, chat.patient, chat.group_id, "I have a rash")
    secret = await send_ok(client, chat.patient, chat.group_id, "my password is hunter2")
    typo = await send_ok(client, chat.patient, chat.group_id, "on my amr")
    await send_ok(client, chat.doctor, chat.group_id, "Since when?")
    assert (await recall(client, chat.patient, secret["message_id"])).status_code == 200
    assert (await edit(client, chat.patient, typo["message_id"], "on my arm")).status_code == 200
    await set_ai(client, chat.doctor, chat.group_id, True)

    question = await send_ok(client, chat.patient, chat.group_id, "Since Monday")
    [record] = await wait_final(client, chat.group_id)
    assert (record["status"], record["user_message_id"]) == ("SUCCESS", question["message_id"])
    [request] = ai_stub.received
    assert request.body["message"] == "Since Monday"
    assert request.body["history"] == [
        {"role": "user", "content": "I have a rash"},
        {"role": "user", "content": "on my arm"},
        {"role": "user", "content": f"[Doctor {chat.doctor.username}] Since when?"},
    ]
    assert "hunter2" not in record["request_content"]


async def test_changes_of_a_patient_message_do_not_ask_the_ai_again(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(client)
    first = await send_ok(client, chat.patient, chat.group_id, "my head hurts")
    await wait_final(client, chat.group_id)
    assert (
        await edit(client, chat.patient, first["message_id"], "my head aches")
    ).status_code == 200
    assert (await recall(client, chat.patient, first["message_id"])).status_code == 200
    # A routed send is the barrier: had the changes been routed, their records would be older.
    barrier = await send_ok(client, chat.patient, chat.group_id, "still there?")
    found = await wait_final(client, chat.group_id, count=2)
    assert [r["user_message_id"] for r in found] == [barrier["message_id"], first["message_id"]]
    assert [r.body["message"] for r in ai_stub.received] == ["my head hurts", "still there?"]


async def test_a_doctor_mentioning_the_assistant_consults_it_with_the_ai_off(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    ai_stub.then("ok", reply="Ibuprofen 400 mg is usual for adults.")
    chat = await consultation(client)
    await set_ai(client, chat.doctor, chat.group_id, False)
    # Not routed: a patient (mentions follow the normal rule), a doctor without a mention.
    await send_ok(client, chat.patient, chat.group_id, "@AI help", mentions=[ASSISTANT])
    await send_ok(client, chat.doctor, chat.group_id, "let me check")
    asked = await send_ok(
        client, chat.doctor, chat.group_id, "@AI usual ibuprofen dose?", mentions=[ASSISTANT]
    )
    [record] = await wait_final(client, chat.group_id)
    assert (record["status"], record["user_message_id"]) == ("SUCCESS", asked["message_id"])
    [request] = ai_stub.received
    assert request.body["message"] == f"[Doctor {chat.doctor.username}] @AI usual ibuprofen dose?"
    reply = (await messages(client, chat.doctor.token, chat.group_id))[-1]
    assert (reply["from_user_role"], reply["msg_content"]) == (
        "AI_ASSISTANT",
        "Ibuprofen 400 mg is usual for adults.",
    )


async def test_a_doctor_mention_is_routed_with_the_ai_on_too(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(client)
    asked = await send_ok(client, chat.doctor, chat.group_id, "@AI summarise", mentions=[ASSISTANT])
    [record] = await wait_final(client, chat.group_id)
    assert record["user_message_id"] == asked["message_id"]


@pytest.mark.parametrize("ai_settings", [{"ai_concurrency": 1}], indirect=True)
async def test_a_question_recalled_before_the_ai_takes_it_is_skipped(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    ai_stub.then("held", reply="first answer")
    chat = await consultation(client)
    first = await send_ok(client, chat.patient, chat.group_id, "first question")
    await eventually(lambda: len(ai_stub.received) == 1)  # the one worker slot is busy
    taken_back = await send_ok(client, chat.patient, chat.group_id, "wrong chat, sorry")
    assert (await recall(client, chat.patient, taken_back["message_id"])).status_code == 200
    ai_stub.release.set()

    await eventually_status(client, chat.group_id, taken_back["message_id"], "SKIPPED")
    await eventually_status(client, chat.group_id, first["message_id"], "SUCCESS")
    assert [r.body["message"] for r in ai_stub.received] == ["first question"]
    skipped = next(r for r in await records(client, chat.group_id) if r["status"] == "SKIPPED")
    assert skipped["error_message"] == "The message was recalled before the AI answered"


async def test_a_question_recalled_while_the_ai_answers_gets_no_reply(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    ai_stub.then("held", reply="an answer to what was taken back")
    chat = await consultation(client)
    sent = await send_ok(client, chat.patient, chat.group_id, "oops, not for you")
    await eventually(lambda: len(ai_stub.received) == 1)
    assert (await recall(client, chat.patient, sent["message_id"])).status_code == 200
    ai_stub.release.set()

    [record] = await wait_final(client, chat.group_id)
    assert record["status"] == "FAILED"
    assert record["error_message"] == "The message was recalled while the AI answered"
    assert record["ai_message_id"] is None
    history = await messages(client, chat.doctor.token, chat.group_id)
    assert [m["from_user_role"] for m in history if m["from_user_role"] == "AI_ASSISTANT"] == []


async def eventually_status(
    client: httpx.AsyncClient, group_id: str, message_id: str, status: str, within: float = 10.0
) -> None:
    """Wait (bounded) until the record of `message_id` has `status`."""
    async with asyncio.timeout(within):
        while True:
            found = await records(client, group_id)
            if any(r["user_message_id"] == message_id and r["status"] == status for r in found):
                return
            await asyncio.sleep(0.02)
