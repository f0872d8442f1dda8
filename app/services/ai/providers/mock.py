"""The built-in demo assistant (`AI_PROVIDER=mock`): no network, the same answer for the same
input, streamed in small pieces, and plainly labelled as a demo."""

from __future__ import annotations

import asyncio

from app.services.ai.providers.base import DeltaCallback, Prompt

MOCK_URL = "mock://builtin"
MOCK_CHUNK_CHARS = 24
MOCK_CHUNK_DELAY = 0.02


class MockProvider:
    name = "mock"
    url = MOCK_URL

    async def complete(self, prompt: Prompt, on_delta: DeltaCallback | None = None) -> str:
        reply = _reply(prompt) if prompt.kind == "REPLY" else _copilot(prompt)
        if on_delta is not None:
            for index in range(0, len(reply), MOCK_CHUNK_CHARS):
                on_delta(reply[index : index + MOCK_CHUNK_CHARS])
                await asyncio.sleep(MOCK_CHUNK_DELAY)
        return reply

    async def aclose(self) -> None:
        """Nothing to release."""


def _reply(prompt: Prompt) -> str:
    message = prompt.message
    excerpt = message if len(message) <= 120 else message[:117] + "..."
    return (
        f'[Demo AI reply] I received your message: "{excerpt}". '
        f"({len(prompt.history)} earlier messages in context.) This is the built-in demo "
        "assistant (AI_PROVIDER=mock), not medical advice; a doctor will follow up."
    )


def _copilot(prompt: Prompt) -> str:
    """A copilot task (SUMMARY, SUGGESTION): the latest user turn quoted, nothing invented."""
    last = next((t.content for t in reversed(prompt.history) if t.role == "user"), "")
    excerpt = last if len(last) <= 120 else last[:117] + "..."
    return (
        f"[Demo AI {prompt.kind.lower()}] {len(prompt.history)} messages in the conversation; "
        f'the latest: "{excerpt}". The built-in demo assistant (AI_PROVIDER=mock) does not '
        "summarise or draft replies; set AI_PROVIDER to a real model."
    )
