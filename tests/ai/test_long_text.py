"""Long texts fit on every database (SPEC §14): MySQL's TEXT holds 64 KiB, which a full-length
AI reply or request of 4-byte characters (emoji, CJK Extension B) exceeds."""

import httpx

from tests.ai.helpers import messages, wait_final
from tests.ai.standin import StandInAI
from tests.factories import consultation, send

LONG_REPLY = "🩺𠮷" * 9_000  # 18,000 characters, 72,000 bytes in utf8mb4
LONG_QUESTION = "😷" * 5_000  # the longest message: 20,000 bytes


async def test_a_long_reply_and_its_request_are_stored_whole(
    client: httpx.AsyncClient, ai_stub: StandInAI
) -> None:
    chat = await consultation(client)
    for _ in range(4):  # history: four maximal messages, so the request is ~100 KB
        await send(client, chat.doctor, chat.group_id, LONG_QUESTION)
    ai_stub.then("ok", reply=LONG_REPLY)
    await send(client, chat.patient, chat.group_id, LONG_QUESTION)
    [record] = await wait_final(client, chat.group_id)
    assert record["status"] == "SUCCESS", record["error_message"]
    assert record["response_content"] == LONG_REPLY
    assert len(record["request_content"].encode()) > 100_000
    assert record["request_content"].count(LONG_QUESTION) == 5
    stored = await messages(client, chat.patient.token, chat.group_id)
    assert stored[-1]["msg_content"] == LONG_REPLY
