"""The seed contract on the wire, history building, and every failure path (SPEC §7)."""

import asyncio
import socket
from typing import Any

import httpx
import pytest

from tests.ai.conftest import AI_KEY
from tests.ai.helpers import records, wait_final
from tests.ai.standin import StandInAI
from tests.factories import consultation, send


async def test_request_carries_bearer_key_message_and_history(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(client)
    await send(client, chat.doctor, chat.group_id, "Tell me your symptoms.")
    ai_stub.then("ok", reply="First answer")
    await send(client, chat.patient, chat.group_id, "Fever since Monday")
    await wait_final(client, chat.group_id)
    ai_stub.then("ok", reply="Second answer")
    await send(client, chat.patient, chat.group_id, "And a cough")
    await wait_final(client, chat.group_id, count=2)

    last = ai_stub.received[-1]
    assert last.path == "/chat"
    assert last.headers["authorization"] == f"Bearer {AI_KEY}"
    assert last.body["message"] == "And a cough"
    assert last.body["history"] == [
        {"role": "user", "content": f"[Doctor {chat.doctor.username}] Tell me your symptoms."},
        {"role": "user", "content": "Fever since Monday"},
        {"role": "assistant", "content": "First answer"},
    ], "oldest first, SYSTEM messages left out, doctors named"
    [newest, _] = await records(client, chat.group_id)
    assert '"message": "And a cough"' in newest["request_content"]


@pytest.mark.parametrize("ai_settings", [{"ai_history_limit": 2}], indirect=True)
async def test_history_is_limited(client: httpx.AsyncClient, ai_stub: StandInAI) -> None:
    chat = await consultation(client)
    for text in ("one", "two", "three"):
        await send(client, chat.doctor, chat.group_id, text)
    await send(client, chat.patient, chat.group_id, "question")
    await wait_final(client, chat.group_id)
    contents = [turn["content"] for turn in ai_stub.received[0].body["history"]]
    assert [c.split("] ")[1] for c in contents] == ["two", "three"]


async def _fail_with(
    client: httpx.AsyncClient, ai_stub: StandInAI, *behaviours: tuple[str, dict[str, Any]]
) -> dict[str, object]:
    for kind, kwargs in behaviours:
        ai_stub.then(kind, **kwargs)
    chat = await consultation(client)
    await send(client, chat.patient, chat.group_id, "help")
    [record] = await wait_final(client, chat.group_id)
    return record


async def test_5xx_is_retried_then_failed(client: httpx.AsyncClient, ai_stub: StandInAI) -> None:
    record = await _fail_with(client, ai_stub, *[("status", {"status": 503})] * 3)
    assert record["status"] == "FAILED"
    assert record["attempts"] == 3 and len(ai_stub.received) == 3
    assert "503" in str(record["error_message"])
    assert record["ai_message_id"] is None


async def test_429_then_success_is_retried(client: httpx.AsyncClient, ai_stub: StandInAI) -> None:
    ai_stub.then("status", status=429, headers={"Retry-After": "0"}).then("ok", reply="later")
    chat = await consultation(client)
    await send(client, chat.patient, chat.group_id, "help")
    [record] = await wait_final(client, chat.group_id)
    assert (record["status"], record["attempts"]) == ("SUCCESS", 2)
    assert record["response_content"] == "later"


@pytest.mark.parametrize(
    ("kind", "kwargs", "error"),
    [
        ("status", {"status": 400}, "400"),
        ("status", {"status": 401}, "401"),
        ("invalid_json", {}, "invalid JSON"),
        ("no_reply", {}, "no 'reply'"),
    ],
)
async def test_permanent_errors_are_not_retried(
    client: httpx.AsyncClient,
    ai_stub: StandInAI,
    kind: str,
    kwargs: dict[str, object],
    error: str,
) -> None:
    record = await _fail_with(client, ai_stub, (kind, kwargs))
    assert record["status"] == "FAILED" and record["attempts"] == 1
    assert len(ai_stub.received) == 1
    assert error in str(record["error_message"])


@pytest.mark.parametrize("ai_settings", [{"ai_service_timeout": 0.3}], indirect=True)
async def test_timeout_is_retried_then_failed(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    ai_stub.default.kind = "hang"
    chat = await consultation(client)
    await send(client, chat.patient, chat.group_id, "help")
    [record] = await wait_final(client, chat.group_id)
    assert record["status"] == "FAILED" and record["attempts"] == 3
    assert "timed out" in str(record["error_message"])


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "ai_settings", [{"ai_service_url": f"http://127.0.0.1:{_closed_port()}/chat"}], indirect=True
)
async def test_connection_refused_is_retried_then_failed(client: httpx.AsyncClient) -> None:
    chat = await consultation(client)
    await send(client, chat.patient, chat.group_id, "help")
    [record] = await wait_final(client, chat.group_id)
    assert record["status"] == "FAILED" and record["attempts"] == 3
    assert "unreachable" in str(record["error_message"])


@pytest.mark.parametrize("ai_settings", [{"ai_service_timeout": 5.0}], indirect=True)
async def test_sends_do_not_wait_for_a_hanging_ai(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    ai_stub.default.kind = "hang"
    chat = await consultation(client)
    for index in range(5):
        response = await asyncio.wait_for(
            send(client, chat.patient, chat.group_id, f"still there? {index}"), timeout=1
        )
        assert response.status_code == 201
    found = await records(client, chat.group_id)
    assert len(found) == 5
    assert {r["status"] for r in found} <= {"PENDING", "PROCESSING"}, "the AI is still hanging"
    doctor_view = await client.get(f"/api/group/{chat.group_id}", headers=chat.doctor.headers)
    assert doctor_view.status_code == 200
