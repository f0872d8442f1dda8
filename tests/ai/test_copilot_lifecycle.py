"""Copilot records in the AI layer's one lifecycle: a record whose dispatch was lost is swept
and run like a reply's, a record with nothing left to work on ends SKIPPED (with an event to
its doctors), and a worker that lost its claim stores and announces nothing."""

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from app.db.base import utcnow
from app.models import AIKind
from app.repositories.ai_interaction_repository import AIInteractionRepository
from app.services.ai.outbox import ClaimedMessage
from app.services.core.hooks import GroupChange
from app.utils.id_generator import generate_record_id
from tests.ai.copilot_kit import copilot_records, heard_nothing, socket, wait_copilot
from tests.ai.standin import StandInAI
from tests.conftest import LiveServer
from tests.factories import SERVICE_HEADERS, Consultation, consultation, send_ok


async def _stage(
    app: FastAPI,
    chat: Consultation,
    message_id: str,
    kind: AIKind,
    *,
    token: str | None,
    due_in: timedelta = timedelta(minutes=1),
    requested_by: str | None = None,
) -> str:
    """A copilot record written straight to the outbox (claimed under `token`, or PENDING)."""
    record_id = generate_record_id()
    async with app.state.server.core.db.write() as session, session.begin():
        AIInteractionRepository(session).stage(
            record_id,
            chat.group_id,
            message_id,
            "http://stand-in",
            "instruction",
            due_at=utcnow() + due_in,
            claim_token=token,
            kind=kind,
            requested_by=requested_by or chat.doctor.user_id,
        )
    return record_id


async def _quiet_consultation(client: httpx.AsyncClient) -> Consultation:
    """A consultation whose AI is off (switched by the service key: no hand-over)."""
    chat = await consultation(client)
    off = await client.patch(
        f"/api/group/{chat.group_id}", json={"ai_enabled": False}, headers=SERVICE_HEADERS
    )
    assert off.status_code == 200
    return chat


async def test_a_copilot_record_whose_dispatch_was_lost_is_swept(
    app: FastAPI, client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await _quiet_consultation(client)
    said = await send_ok(client, chat.patient, chat.group_id, "Still coughing")
    ai_stub.then("ok", reply="Try honey and warm water.")
    record_id = await _stage(
        app, chat, said["message_id"], AIKind.SUGGESTION, token=None, due_in=-timedelta(seconds=1)
    )
    assert await app.state.server.ai.sweep() == 1
    record = await wait_copilot(client, chat.doctor, chat.group_id, record_id)
    assert (record["status"], record["content"]) == ("SUCCESS", "Try honey and warm water.")
    assert [r.body["kind"] for r in ai_stub.received] == ["SUGGESTION"]


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (AIKind.SUGGESTION, "The conversation has no patient message left to answer"),
        (AIKind.SUMMARY, "The conversation has no messages left to summarise"),
    ],
)
async def test_nothing_left_to_work_on_ends_skipped_with_an_event(
    live_server: LiveServer,
    live_client: httpx.AsyncClient,
    ai_stub: StandInAI,
    kind: AIKind,
    reason: str,
) -> None:
    app = live_server.app
    chat = await _quiet_consultation(live_client)
    said = await send_ok(live_client, chat.patient, chat.group_id, "oops, wrong chat")
    record_id = await _stage(app, chat, said["message_id"], kind, token="claimed")
    recall = await live_client.post(
        f"/api/message/{said['message_id']}/recall", headers=chat.patient.headers
    )
    assert recall.status_code == 200
    async with socket(live_server, chat.doctor) as doctor:
        claimed = ClaimedMessage(record_id, "claimed", said["message_id"], kind)
        assert await app.state.server.ai.service.answer(claimed) is None
        done = await doctor.copilot_done(record_id)
    assert (done["kind"], done["status"], done["content"], done["error"]) == (
        kind.value,
        "SKIPPED",
        None,
        reason,
    )
    [record] = await copilot_records(live_client, chat.doctor, chat.group_id)
    assert (record["status"], record["error"]) == ("SKIPPED", reason)
    assert ai_stub.received == []


async def test_a_worker_that_lost_its_claim_stores_and_announces_nothing(
    live_server: LiveServer, live_client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    app = live_server.app
    chat = await _quiet_consultation(live_client)
    said = await send_ok(live_client, chat.patient, chat.group_id, "Should I worry?")
    record_id = await _stage(app, chat, said["message_id"], AIKind.SUMMARY, token="theirs")
    async with socket(live_server, chat.doctor) as doctor:
        for outcome in ("ok", "status"):
            ai_stub.then(outcome, status=200 if outcome == "ok" else 400)
            lapsed = ClaimedMessage(record_id, "mine", said["message_id"], AIKind.SUMMARY)
            assert await app.state.server.ai.service.answer(lapsed) is None
        await heard_nothing(live_client, chat.doctor, chat.group_id, doctor)
    [record] = await copilot_records(live_client, chat.doctor, chat.group_id)
    assert (record["status"], record["content"]) == ("PROCESSING", None)
    assert len(ai_stub.received) == 2


async def test_a_suggestion_for_a_doctor_who_left_reaches_nobody(
    live_server: LiveServer, live_client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    app = live_server.app
    chat = await _quiet_consultation(live_client)
    said = await send_ok(live_client, chat.patient, chat.group_id, "Can I run tomorrow?")
    gone = "user_who_left"
    record_id = await _stage(
        app, chat, said["message_id"], AIKind.SUGGESTION, token="t", requested_by=gone
    )
    ai_stub.then("ok", reply="Rest one more day.")
    async with socket(live_server, chat.doctor) as doctor:
        claimed = ClaimedMessage(record_id, "t", said["message_id"], AIKind.SUGGESTION)
        assert await app.state.server.ai.service.answer(claimed) == "Rest one more day."
        await heard_nothing(live_client, chat.doctor, chat.group_id, doctor)
    assert await copilot_records(live_client, chat.doctor, chat.group_id) == []


async def test_a_record_gone_with_its_group_is_left_alone(
    app: FastAPI, client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    claimed = ClaimedMessage(generate_record_id(), "t", "msg_gone", AIKind.SUMMARY)
    assert await app.state.server.ai.service.answer(claimed) is None
    assert ai_stub.received == []


async def test_the_handover_hook_ignores_a_switch_by_anyone_but_a_doctor_member(
    app: FastAPI, client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    """Whoever the core lets switch the AI, only a DOCTOR member's switch is a hand-over."""
    chat = await _quiet_consultation(client)
    await send_ok(client, chat.patient, chat.group_id, "hello")
    hook = app.state.server.ai.handover
    for who in (chat.patient.user_id, "user_not_a_member"):
        change = GroupChange(
            chat.group_id,
            by_user_id=who,
            changed=frozenset({"ai_enabled"}),
            ai_enabled_before=True,
            ai_enabled=False,
        )
        async with app.state.server.core.db.write() as session, session.begin():
            assert await hook.on_group_updated(session, change) is None
    assert await copilot_records(client, chat.doctor, chat.group_id) == []
