"""The outbox: records are written with the message, resumed after a crash, processed once."""

import asyncio
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from app.config import Settings
from app.db.base import utcnow
from app.main import create_app
from app.models import AIInteractionRecord, AIStatus
from app.repositories.ai_interaction_repository import AIInteractionRepository
from app.utils.id_generator import generate_record_id
from tests.ai.helpers import eventually, records, wait_final
from tests.ai.standin import StandInAI
from tests.databases import truncate_all
from tests.factories import consultation, send


async def _age_record(app: FastAPI, group_id: str, status: AIStatus, seconds: float) -> None:
    async with app.state.server.core.db.write() as session, session.begin():
        await session.execute(
            update(AIInteractionRecord)
            .where(AIInteractionRecord.group_id == group_id)
            .values(status=status, due_at=utcnow() - timedelta(seconds=seconds))
        )


async def test_record_left_processing_by_a_dead_process_is_completed_after_restart(
    settings: Settings, ai_stub: StandInAI
) -> None:
    """A first server stores the message and its record, then 'dies' with the record
    PROCESSING; a new server on the same database finishes it at start-up."""
    ai_stub.default.kind = "hang"
    first = create_app(settings)
    async with first.router.lifespan_context(first):
        transport = httpx.ASGITransport(app=first)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            chat = await consultation(client)
            await send(client, chat.patient, chat.group_id, "are you there?")
            await eventually(lambda: bool(ai_stub.received))
            [record] = await records(client, chat.group_id)
            assert record["status"] == "PROCESSING"
    ai_stub.default.kind = "ok"
    ai_stub.default.reply = "Back again"

    second = create_app(settings)
    async with second.router.lifespan_context(second):
        await _age_record(second, chat.group_id, AIStatus.PROCESSING, seconds=3600)
        await second.state.server.ai.sweep()
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            [record] = await wait_final(client, chat.group_id)
            assert record["status"] == "SUCCESS"
            assert record["response_content"] == "Back again"
        await truncate_all(second.state.server.core.db.engine)


async def test_pending_record_whose_dispatch_was_lost_is_swept(
    app: FastAPI, client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    """A crash between the send's commit and the dispatch leaves a PENDING record that nobody
    holds; once it falls due, the sweeper sends it."""
    chat = await consultation(client)
    groups = f"/api/group/{chat.group_id}"
    await client.patch(groups, json={"ai_enabled": False}, headers=chat.doctor.headers)
    sent = await send(client, chat.patient, chat.group_id, "hello")
    await client.patch(groups, json={"ai_enabled": True}, headers=chat.doctor.headers)
    async with app.state.server.core.db.write() as session, session.begin():
        AIInteractionRepository(session).stage(
            generate_record_id(),
            chat.group_id,
            sent.json()["message_id"],
            ai_stub.chat_url,
            "hello",
            due_at=utcnow() - timedelta(seconds=1),
        )
    assert ai_stub.received == []
    assert await app.state.server.ai.sweep() == 1
    [record] = await wait_final(client, chat.group_id)
    assert record["status"] == "SUCCESS"
    assert [r.body["message"] for r in ai_stub.received] == ["hello"]
    assert await app.state.server.ai.sweep() == 0


async def test_a_record_is_processed_once_even_when_dispatched_twice(
    app: FastAPI, client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    ai_stub.default.delay = 0.2
    chat = await consultation(client)
    await send(client, chat.patient, chat.group_id, "once please")
    [record] = await records(client, chat.group_id)
    service = app.state.server.ai.service
    results = await asyncio.gather(
        *(service.process_ai_request(record["record_id"]) for _ in range(3))
    )
    await wait_final(client, chat.group_id)
    assert len(ai_stub.received) == 1
    assert sum(result is not None for result in results) <= 1
    listing = await client.get(
        "/api/message/list", params={"group_id": chat.group_id}, headers=chat.doctor.headers
    )
    replies = [m for m in listing.json()["messages"] if m["from_user_role"] == "AI_ASSISTANT"]
    assert len(replies) == 1


async def test_ai_records_need_a_group_doctor(client: httpx.AsyncClient) -> None:
    chat = await consultation(client)
    url = f"/api/ai/interactions?group_id={chat.group_id}"
    assert (await client.get(url, headers=chat.doctor.headers)).status_code == 200
    patient = await client.get(url, headers=chat.patient.headers)
    assert patient.status_code == 403
    assert patient.json()["error"]["code"] == "NOT_GROUP_DOCTOR"
    missing = await client.get(
        "/api/ai/interactions?group_id=group_nope", headers=chat.doctor.headers
    )
    assert missing.status_code == 404
    bad_page = await client.get(f"{url}&page_size=101", headers=chat.doctor.headers)
    assert bad_page.status_code == 422
