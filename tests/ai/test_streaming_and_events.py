"""Events a group sees while the AI works: status, streamed deltas, the reply, failures."""

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from tests.ai.helpers import wait_final
from tests.ai.standin import StandInAI
from tests.conftest import LiveServer
from tests.factories import consultation, send


async def _collect(socket: Any, until: str) -> list[dict[str, Any]]:
    """Events after `connected`, up to and including an ai_status of `until` (10 s at most)."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while True:
            event = json.loads(await socket.recv())
            events.append(event)
            if event["type"] == "ai_status" and event["status"] == until:
                return events


@pytest.mark.parametrize("ai_settings", [{"ai_provider": "openai"}], indirect=True)
async def test_openai_stream_deltas_arrive_before_the_final_message(
    live_server: LiveServer, live_client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    ai_stub.then("stream", chunks=["Rest ", "and ", "drink ", "water."])
    chat = await consultation(live_client)
    async with websockets.connect(
        live_server.ws_url(chat.doctor.user_id, chat.doctor.token)
    ) as doctor:
        assert json.loads(await doctor.recv())["type"] == "connected"
        await send(live_client, chat.patient, chat.group_id, "What should I do?")
        events = await _collect(doctor, until="SUCCESS")

    kinds = [e["type"] for e in events]
    assert kinds[0] == "message" and events[0]["message"]["from_user_role"] == "PATIENT"
    assert events[1] == {
        "type": "ai_status",
        "group_id": chat.group_id,
        "record_id": events[1]["record_id"],
        "user_message_id": events[0]["message"]["message_id"],
        "status": "PROCESSING",
    }
    deltas = [e["delta"] for e in events if e["type"] == "ai_reply_delta"]
    assert deltas[0] == "Rest ", "the first piece goes out at once"
    assert "".join(deltas) == "Rest and drink water."
    final = kinds.index("message", 1)
    assert final > max(i for i, k in enumerate(kinds) if k == "ai_reply_delta")
    assert events[final]["message"]["msg_content"] == "Rest and drink water."
    assert events[final]["message"]["from_user_role"] == "AI_ASSISTANT"
    assert events[-1]["status"] == "SUCCESS"
    assert events[-1]["ai_message_id"] == events[final]["message"]["message_id"]
    request = ai_stub.received[0]
    assert request.path == "/v1/chat/completions"
    assert request.body["stream"] is True
    assert request.body["messages"][-1] == {"role": "user", "content": "What should I do?"}


async def test_failure_is_announced_with_ai_status_failed(
    live_server: LiveServer, live_client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    ai_stub.then("status", status=400)
    chat = await consultation(live_client)
    async with websockets.connect(
        live_server.ws_url(chat.patient.user_id, chat.patient.token)
    ) as patient:
        await patient.recv()
        await send(live_client, chat.patient, chat.group_id, "hello?")
        events = await _collect(patient, until="FAILED")
    failed = events[-1]
    assert failed["group_id"] == chat.group_id and "400" in failed["error"]
    pushed = [e["message"]["from_user_role"] for e in events if e["type"] == "message"]
    assert pushed == ["PATIENT"], "the patient's own message (sent over HTTP), and no reply"


@pytest.mark.parametrize("ai_settings", [{"ai_provider": "mock"}], indirect=True)
async def test_mock_provider_streams_a_labelled_deterministic_reply(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(client)
    await send(client, chat.patient, chat.group_id, "I feel dizzy")
    await send(client, chat.patient, chat.group_id, "I feel dizzy")
    first, second = await wait_final(client, chat.group_id, count=2)
    assert first["status"] == second["status"] == "SUCCESS"
    assert first["ai_service_url"] == "mock://builtin"
    assert "[Demo AI reply]" in first["response_content"]
    assert '"I feel dizzy"' in first["response_content"]
    assert ai_stub.received == [], "the mock provider makes no network call"
