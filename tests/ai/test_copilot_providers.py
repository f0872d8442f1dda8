"""The copilot through the SDK providers (OpenAI-compatible and Anthropic stand-ins): the
task's instruction is the system prompt, the conversation (as it reads now: edits applied,
recalled messages left out) is the history, and the streamed text reaches the doctor as
coalesced `ai_copilot_delta` events before the final `ai_copilot`."""

from typing import Any

import httpx
import pytest

from app.config import DEFAULT_AI_SUMMARY_PROMPT
from tests.ai.copilot_kit import asked, socket, wait_copilot
from tests.ai.standin import Behaviour, StandInAI
from tests.conftest import LiveServer
from tests.factories import SERVICE_HEADERS, consultation, send_ok

SDK_PROVIDERS = [{"ai_provider": p} for p in ("openai", "anthropic")]


@pytest.mark.parametrize(
    "ai_settings", SDK_PROVIDERS, indirect=True, ids=lambda s: s["ai_provider"]
)
async def test_sdk_providers_get_the_instruction_and_the_conversation_as_it_reads_now(
    live_server: LiveServer,
    live_client: httpx.AsyncClient,
    ai_stub: StandInAI,
    ai_settings: dict[str, str],
) -> None:
    chat = await consultation(live_client)
    group_id = chat.group_id
    off = await live_client.patch(
        f"/api/group/{group_id}", json={"ai_enabled": False}, headers=SERVICE_HEADERS
    )
    assert off.status_code == 200
    fever = await send_ok(live_client, chat.patient, group_id, "My child has a fever of 38")
    edit = await live_client.patch(
        f"/api/message/{fever['message_id']}",
        json={"content": "My child has a fever of 39"},
        headers=chat.patient.headers,
    )
    assert edit.status_code == 200, edit.text
    wrong = await send_ok(live_client, chat.patient, group_id, "wrong chat, sorry")
    recall = await live_client.post(
        f"/api/message/{wrong['message_id']}/recall", headers=chat.patient.headers
    )
    assert recall.status_code == 200, recall.text
    await send_ok(live_client, chat.doctor, group_id, "Any rash?")
    await send_ok(live_client, chat.patient, group_id, "No rash")
    ai_stub.then("stream", chunks=["Fever ", "of 39, ", "no rash."])

    async with socket(live_server, chat.doctor) as doctor:
        record_id = await asked(live_client, chat.doctor, "summary", group_id)
        done = await doctor.copilot_done(record_id)
    deltas = [e for e in doctor.copilot() if e["type"] == "ai_copilot_delta"]
    assert deltas[0] == {
        "type": "ai_copilot_delta",
        "group_id": group_id,
        "record_id": record_id,
        "kind": "SUMMARY",
        "delta": "Fever ",
    }, "the first piece goes out at once"
    assert "".join(e["delta"] for e in deltas) == "Fever of 39, no rash."
    assert doctor.copilot()[-1] is done and done["content"] == "Fever of 39, no rash."

    [request] = ai_stub.received
    conversation = [
        "My child has a fever of 39",
        f"[Doctor {chat.doctor.username}] Any rash?",
        "No rash",
    ]
    messages: list[dict[str, Any]] = request.body["messages"]
    if ai_settings["ai_provider"] == "anthropic":
        assert request.body["system"] == DEFAULT_AI_SUMMARY_PROMPT
        # Consecutive user turns merged: the Messages API wants them alternating.
        merged = "\n\n".join([*conversation, DEFAULT_AI_SUMMARY_PROMPT])
        assert messages == [{"role": "user", "content": merged}]
    else:
        assert messages == [
            {"role": "system", "content": DEFAULT_AI_SUMMARY_PROMPT},
            *({"role": "user", "content": text} for text in conversation),
            {"role": "user", "content": DEFAULT_AI_SUMMARY_PROMPT},
        ]


@pytest.mark.parametrize(
    "ai_settings",
    [{"ai_summary_prompt": "Summarise, please.", "ai_suggest_prompt": "Draft, please."}],
    indirect=True,
)
async def test_the_instructions_are_settings(
    live_client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(live_client)
    await send_ok(live_client, chat.patient, chat.group_id, "Thanks")
    for what in ("suggest", "summary"):
        record_id = await asked(live_client, chat.doctor, what, chat.group_id)
        await wait_copilot(live_client, chat.doctor, chat.group_id, record_id)
    asked_for = {r.body["kind"]: r.body["message"] for r in ai_stub.received if "kind" in r.body}
    assert asked_for == {"SUGGESTION": "Draft, please.", "SUMMARY": "Summarise, please."}


@pytest.mark.parametrize("ai_settings", [{"ai_max_reply_chars": 100}], indirect=True)
async def test_an_over_long_text_is_cut_and_marked(
    live_client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(live_client)
    off = {"ai_enabled": False}  # by the service key: no reply, no hand-over
    await live_client.patch(f"/api/group/{chat.group_id}", json=off, headers=SERVICE_HEADERS)
    await send_ok(live_client, chat.patient, chat.group_id, "Tell me everything")
    ai_stub.then("ok", reply="x" * 150)
    record_id = await asked(live_client, chat.doctor, "suggest", chat.group_id)
    record = await wait_copilot(live_client, chat.doctor, chat.group_id, record_id)
    assert record["status"] == "SUCCESS"
    assert record["content"] == "x" * 99 + "…"


@pytest.mark.parametrize("ai_settings", [{"ai_provider": "mock"}], indirect=True)
async def test_the_demo_provider_answers_copilot_tasks_as_a_labelled_demo(
    live_client: httpx.AsyncClient,
) -> None:
    chat = await consultation(live_client)
    await send_ok(live_client, chat.patient, chat.group_id, "My throat is sore")
    for what, label in (("suggest", "[Demo AI suggestion]"), ("summary", "[Demo AI summary]")):
        record_id = await asked(live_client, chat.doctor, what, chat.group_id)
        record = await wait_copilot(live_client, chat.doctor, chat.group_id, record_id)
        assert record["content"].startswith(label)
        assert '"My throat is sore"' in record["content"]


@pytest.mark.parametrize(
    "ai_settings", [{"ai_provider": "openai"}], indirect=True, ids=lambda s: s["ai_provider"]
)
async def test_a_stream_that_breaks_off_ends_failed_after_its_deltas(
    live_server: LiveServer, live_client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    """Text already streamed is never retried: the doctors get the deltas, then FAILED (the
    client drops the partial text), and the record keeps no content."""
    chat = await consultation(live_client)
    await live_client.patch(
        f"/api/group/{chat.group_id}", json={"ai_enabled": False}, headers=SERVICE_HEADERS
    )
    await send_ok(live_client, chat.patient, chat.group_id, "Is it an allergy?")
    ai_stub.then("cut", chunks=["Possibly ", "an ", "aller"])
    async with socket(live_server, chat.doctor) as doctor:
        record_id = await asked(live_client, chat.doctor, "suggest", chat.group_id)
        done = await doctor.copilot_done(record_id)
    assert [e["type"] for e in doctor.copilot()][-1] == "ai_copilot"
    assert any(e["type"] == "ai_copilot_delta" for e in doctor.copilot())
    assert (done["status"], done["content"]) == ("FAILED", None)
    assert "broke off" in done["error"]
    record = await wait_copilot(live_client, chat.doctor, chat.group_id, record_id)
    assert (record["status"], record["content"]) == ("FAILED", None)
    assert len(ai_stub.received) == 1, "streamed text is never asked for again"


@pytest.mark.parametrize(
    "ai_settings",
    [{"ai_service_timeout": 0.5, "ai_reply_deadline": 1.0, "ai_max_retries": 3}],
    indirect=True,
)
async def test_an_ai_that_hangs_ends_failed_within_the_deadline(
    live_server: LiveServer, live_client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(live_client)
    await live_client.patch(
        f"/api/group/{chat.group_id}", json={"ai_enabled": False}, headers=SERVICE_HEADERS
    )
    await send_ok(live_client, chat.patient, chat.group_id, "Hello?")
    ai_stub.default = Behaviour(kind="hang")
    async with socket(live_server, chat.doctor) as doctor:
        record_id = await asked(live_client, chat.doctor, "summary", chat.group_id)
        done = await doctor.copilot_done(record_id)
    assert done["status"] == "FAILED" and "timed out" in done["error"]
    assert 1 <= len(ai_stub.received) <= 2, "retries stop at the 1 s deadline"
