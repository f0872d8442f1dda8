"""Events a group sees while the AI works: status, streamed deltas, the reply, failures."""

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from app.config import DEFAULT_AI_SYSTEM_PROMPT, Settings
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


SDK_PROVIDERS = [{"ai_provider": p} for p in ("openai", "deepseek", "anthropic")]


@pytest.mark.parametrize(
    "ai_settings", SDK_PROVIDERS, indirect=True, ids=lambda s: s["ai_provider"]
)
async def test_sdk_stream_deltas_arrive_before_the_final_message(
    live_server: LiveServer,
    live_client: httpx.AsyncClient,
    ai_stub: StandInAI,
    ai_settings: dict[str, str],
    settings: Settings,
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
    [record] = await wait_final(live_client, chat.group_id)
    assert record["ai_service_url"] == ai_stub.url_for(ai_settings["ai_provider"])

    [request] = ai_stub.received
    assert request.body["stream"] is True
    assert request.body["model"] == settings.ai_model
    question = {"role": "user", "content": "What should I do?"}
    if ai_settings["ai_provider"] == "anthropic":
        assert request.path == "/v1/messages"
        assert request.body["system"] == DEFAULT_AI_SYSTEM_PROMPT
        assert request.body["messages"] == [question]
    else:
        assert request.path == "/v1/chat/completions"
        system = {"role": "system", "content": DEFAULT_AI_SYSTEM_PROMPT}
        assert request.body["messages"] == [system, question]


@pytest.mark.parametrize(
    "ai_settings",
    [{"ai_provider": "anthropic"}, {"ai_provider": "openai"}],
    indirect=True,
    ids=lambda s: s["ai_provider"],
)
async def test_sdk_overload_is_retried_by_us_and_then_fails(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    for _ in range(3):
        ai_stub.then("status", status=529, headers={"retry-after": "0"})
    chat = await consultation(client)
    await send(client, chat.patient, chat.group_id, "help")
    [record] = await wait_final(client, chat.group_id)
    assert (record["status"], record["attempts"]) == ("FAILED", 3)
    assert len(ai_stub.received) == 3, "three attempts by our policy, none by the SDK"
    assert "HTTP 529" in str(record["error_message"])


@pytest.mark.parametrize(
    "ai_settings",
    [{"ai_provider": "anthropic", "ai_max_reply_chars": 3000}],
    indirect=True,
)
async def test_an_over_long_sdk_reply_is_cut_and_marked(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    ai_stub.then("huge", size=50_000_000)
    chat = await consultation(client)
    await send(client, chat.patient, chat.group_id, "tell me everything")
    [record] = await wait_final(client, chat.group_id)
    assert record["status"] == "SUCCESS"
    assert len(record["response_content"]) == 3000 and record["response_content"].endswith("…")
    received = ai_stub.received[0]
    await asyncio.wait_for(received.done.wait(), 10)
    assert received.client_hung_up and received.bytes_sent < 1_000_000


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
