"""The seed's contract: `POST AI_SERVICE_URL` `{"message", "history"[, "kind"][, "attachments"]}`
→ `{"reply"}`,
with `Authorization: Bearer AI_SERVICE_API_KEY`, through the shared `httpx.AsyncClient`.

The body is streamed and read with a cap: a runaway answer is refused, never held whole.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from app.services.ai.providers.base import (
    DeltaCallback,
    PermanentAIError,
    Prompt,
    empty_reply,
    status_error,
    timed_out,
    unreachable,
)

BYTES_PER_CHAR = 6
"""Worst case of one character in a JSON string: a `\\uXXXX` escape (CJK with ensure_ascii)."""
MIN_BODY_BYTES = 64 * 1024
JSON_SLACK_BYTES = 16 * 1024


def body_cap(max_reply_chars: int) -> int:
    """The most bytes read of a response whose reply may be `max_reply_chars` long."""
    return max(MIN_BODY_BYTES, max_reply_chars * BYTES_PER_CHAR + JSON_SLACK_BYTES)


class HttpProvider:
    name = "http"

    def __init__(
        self, client: httpx.AsyncClient, *, url: str, api_key: str, max_body_bytes: int
    ) -> None:
        self.client = client
        self.url = url
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.max_body_bytes = max_body_bytes

    async def complete(self, prompt: Prompt, on_delta: DeltaCallback | None = None) -> str:
        body: dict[str, Any] = {
            "message": prompt.message,
            "history": [{"role": t.role, "content": t.content} for t in prompt.history],
        }
        if prompt.kind != "REPLY":
            body["kind"] = prompt.kind
        if prompt.images:  # SPEC §12: only when there are some
            body["attachments"] = [
                {"url": image.url, "mime": image.mime, "name": image.name}
                for image in prompt.images
            ]
        try:
            async with self.client.stream(
                "POST", self.url, json=body, headers=self.headers
            ) as response:
                if response.status_code >= 400:
                    raise status_error(response.status_code, response.headers.get("retry-after"))
                raw = await self._read_capped(response)
        except httpx.TimeoutException as exc:
            raise timed_out() from exc
        except httpx.TransportError as exc:
            raise unreachable(type(exc).__name__) from exc
        return _reply(raw)

    async def _read_capped(self, response: httpx.Response) -> bytes:
        """The body, or PermanentAIError as soon as it exceeds the cap (the rest is never read:
        leaving the `stream` block closes the connection)."""
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            raise _too_long(self.max_body_bytes)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _too_long(self.max_body_bytes)
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        """Nothing to release: the shared client belongs to the AI layer."""


def _too_long(cap: int) -> PermanentAIError:
    return PermanentAIError(f"AI service response exceeds {cap} bytes (AI_MAX_REPLY_CHARS)")


def _reply(raw: bytes) -> str:
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise PermanentAIError("AI service returned invalid JSON") from exc
    reply = payload.get("reply") if isinstance(payload, dict) else None
    if not isinstance(reply, str):
        raise PermanentAIError("AI service response has no 'reply'")
    if not reply.strip():
        raise empty_reply()
    return reply
