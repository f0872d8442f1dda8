"""The copilot in the scaled shape (SPEC §1, §15): two server processes on one PostgreSQL and
one Redis, the AI a loopback stand-in; a summary or a suggestion made by one instance reaches
the doctor connected to the other, and no patient anywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from app.config import DEFAULT_AI_SUMMARY_PROMPT
from tests.ai.standin import StandInAI
from tests.factories import add_member, create_group, create_user, send_ok
from tests.integration.clients import Predicate, WsClient, http_client
from tests.integration.conftest import ServerFactory
from tests.integration.processes import SERVICE_KEY, ServerProcess


@dataclass
class Pair:
    a: ServerProcess
    b: ServerProcess
    http_a: httpx.AsyncClient
    http_b: httpx.AsyncClient
    ai: StandInAI


@pytest.fixture
async def pair(
    servers: ServerFactory, scaled_database_url: str, redis_url: str, redis_prefix: str
) -> AsyncIterator[Pair]:
    ai = StandInAI()
    await ai.start()
    common = {
        "database_url": scaled_database_url,
        "broker_url": redis_url,
        "redis_prefix": redis_prefix,
        "extra": {"AI_ENABLED": "true", "AI_PROVIDER": "http", "AI_SERVICE_URL": ai.chat_url},
    }
    try:
        a = await servers.start("a", **common)
        b = await servers.start("b", **common)
        async with http_client(a) as http_a, http_client(b) as http_b:
            yield Pair(a, b, http_a, http_b, ai)
    finally:
        await ai.stop()


def _copilot_done(record_id: str) -> Predicate:
    return lambda e: e["type"] == "ai_copilot" and e["record_id"] == record_id


async def test_copilot_events_reach_doctors_on_the_other_instance_only(pair: Pair) -> None:
    doctor = await create_user(pair.http_a, "DOCTOR")
    colleague = await create_user(pair.http_b, "DOCTOR")
    patient = await create_user(pair.http_b, "PATIENT")
    group_id = (await create_group(pair.http_a, doctor))["group_id"]
    await add_member(pair.http_a, doctor, group_id, colleague, role="DOCTOR")
    await add_member(pair.http_a, doctor, group_id, patient)
    off = await pair.http_a.patch(
        f"/api/group/{group_id}", json={"ai_enabled": False}, headers={"X-API-Key": SERVICE_KEY}
    )
    assert off.status_code == 200
    await send_ok(pair.http_b, patient, group_id, "My ankle is swollen since yesterday")

    doctor_a = await WsClient.open(pair.a, doctor)
    colleague_b = await WsClient.open(pair.b, colleague)
    patient_b = await WsClient.open(pair.b, patient)
    try:
        # A summary asked on A (processed there) reaches the colleague's socket on B.
        pair.ai.then("ok", reply="Swollen ankle since yesterday.")
        asked = await pair.http_a.post(
            "/api/ai/summary", json={"group_id": group_id}, headers=doctor.headers
        )
        assert asked.status_code == 202, asked.text
        summary_id = asked.json()["record_id"]
        for listener in (doctor_a, colleague_b):
            done = await listener.expect(_copilot_done(summary_id))
            assert (done["kind"], done["content"]) == ("SUMMARY", "Swollen ankle since yesterday.")

        # A suggestion the doctor asks for through B (processed there) reaches them on A only.
        pair.ai.then("ok", reply="Please keep it raised and cool it.")
        asked = await pair.http_b.post(
            "/api/ai/suggest", json={"group_id": group_id}, headers=doctor.headers
        )
        assert asked.status_code == 202, asked.text
        suggestion_id = asked.json()["record_id"]
        done = await doctor_a.expect(_copilot_done(suggestion_id))
        assert (done["kind"], done["content"]) == (
            "SUGGESTION",
            "Please keep it raised and cool it.",
        )

        # Everything published before a marker reached B's sockets; nothing of the copilot.
        marker = await send_ok(pair.http_a, doctor, group_id, "marker")
        for listener in (colleague_b, patient_b):
            await listener.expect_message(marker["message_id"])
        assert [e for e in patient_b.received if e["type"].startswith("ai_copilot")] == []
        assert [e["record_id"] for e in colleague_b.received if e["type"] == "ai_copilot"] == [
            summary_id
        ]
    finally:
        for ws in (doctor_a, colleague_b, patient_b):
            await ws.close()
    assert [r.body["kind"] for r in pair.ai.received] == ["SUMMARY", "SUGGESTION"]
    assert pair.ai.received[0].body["message"] == DEFAULT_AI_SUMMARY_PROMPT
