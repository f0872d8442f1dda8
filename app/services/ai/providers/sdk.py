"""What the two SDK providers (openai, anthropic) share: key, timeout, how a stream ends."""

from __future__ import annotations

from typing import Literal

import httpx2

from app.services.ai.providers.base import PermanentAIError, broke_off, empty_reply

PLACEHOLDER_KEY = "not-set"
"""The SDKs refuse to start without a key (or read their own env vars); keyless local servers
(vLLM, Ollama) ignore it, and a real API answers 401, which fails clearly."""
MAX_CONNECT_SECONDS = 10.0


def sdk_timeout(seconds: float) -> httpx2.Timeout:
    """The per-attempt timeout the caller enforces, given to the SDK client as well."""
    return httpx2.Timeout(seconds, connect=min(seconds, MAX_CONNECT_SECONDS))


StreamEnd = Literal["finished", "incomplete", "silent"]
"""How a stream ended: its terminator (or the reply cap) reached, it stopped short, or it
carried no event at all (not a stream of this API)."""


def reply_from(pieces: list[str], end: StreamEnd, terminator: str) -> str:
    """The streamed reply, or the error its ending calls for."""
    reply = "".join(pieces)
    if end == "silent":
        raise PermanentAIError("AI service returned an unexpected response (no stream events)")
    if end == "incomplete" and reply:
        raise broke_off(len(reply), f"stream ended without {terminator}")
    if not reply.strip():
        raise empty_reply()
    return reply
