"""AI providers behind one small interface: `complete(message, history, on_delta) -> reply`.

- `HttpProvider`: the seed's contract (`{"message", "history"}` → `{"reply"}`), Bearer key.
- `OpenAIProvider`: any OpenAI-compatible chat-completions endpoint, streamed.
- `MockProvider`: built in, no network, deterministic, labelled as a demo.

Providers raise `RetryableAIError` (connect error, timeout, 5xx, 429) or `PermanentAIError`
(other 4xx, invalid JSON, no reply); retries are the caller's business.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx

from app.config import Settings

DeltaCallback = Callable[[str], None]
MOCK_URL = "mock://builtin"
MOCK_CHUNK_DELAY = 0.02


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    content: str


class AIError(Exception):
    """An AI call that did not produce a reply."""


class RetryableAIError(AIError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentAIError(AIError):
    pass


class AIProvider(Protocol):
    url: str

    async def complete(
        self, message: str, history: list[Turn], on_delta: DeltaCallback | None = None
    ) -> str:
        """The reply text; `on_delta` receives streamed pieces when the provider streams."""


def _check_status(response: httpx.Response) -> None:
    if response.status_code == 429 or response.status_code >= 500:
        retry_after = response.headers.get("retry-after")
        delay = float(retry_after) if retry_after and retry_after.isdigit() else None
        raise RetryableAIError(f"AI service answered HTTP {response.status_code}", delay)
    if response.status_code >= 400:
        raise PermanentAIError(f"AI service answered HTTP {response.status_code}")


async def _post(client: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return await client.post(url, **kwargs)
    except httpx.TimeoutException as exc:
        raise RetryableAIError(f"AI service timed out ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise RetryableAIError(f"AI service unreachable ({type(exc).__name__})") from exc


class HttpProvider:
    def __init__(self, client: httpx.AsyncClient, url: str, api_key: str) -> None:
        self.client = client
        self.url = url
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def complete(
        self, message: str, history: list[Turn], on_delta: DeltaCallback | None = None
    ) -> str:
        body = {"message": message, "history": [t.__dict__ for t in history]}
        response = await _post(self.client, self.url, json=body, headers=self.headers)
        _check_status(response)
        try:
            payload = response.json()
        except ValueError as exc:
            raise PermanentAIError("AI service returned invalid JSON") from exc
        reply = payload.get("reply") if isinstance(payload, dict) else None
        if not isinstance(reply, str) or not reply.strip():
            raise PermanentAIError("AI service response has no 'reply'")
        return reply


class OpenAIProvider:
    """Chat completions with `stream: true`; `url` is the API base (…/v1) or the full
    `…/chat/completions` endpoint."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        base = settings.ai_service_url.rstrip("/")
        self.url = base if base.endswith("/chat/completions") else f"{base}/chat/completions"
        self.client = client
        key = settings.ai_service_api_key.get_secret_value()
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.model = settings.ai_model
        self.temperature = settings.ai_temperature
        self.max_tokens = settings.ai_max_tokens

    async def complete(
        self, message: str, history: list[Turn], on_delta: DeltaCallback | None = None
    ) -> str:
        body = {
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stream": True,
            "messages": [
                *({"role": t.role, "content": t.content} for t in history),
                {"role": "user", "content": message},
            ],
        }
        request = self.client.build_request("POST", self.url, json=body, headers=self.headers)
        try:
            response = await self.client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise RetryableAIError(f"AI service timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise RetryableAIError(f"AI service unreachable ({type(exc).__name__})") from exc
        try:
            _check_status(response)
            if "text/event-stream" not in response.headers.get("content-type", ""):
                await response.aread()
                return self._from_json(response)
            return await self._from_stream(response, on_delta)
        finally:
            await response.aclose()

    @staticmethod
    def _from_json(response: httpx.Response) -> str:
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise PermanentAIError("AI service returned an unexpected completion") from exc
        if not isinstance(content, str) or not content.strip():
            raise PermanentAIError("AI service completion is empty")
        return content

    @staticmethod
    async def _from_stream(response: httpx.Response, on_delta: DeltaCallback | None) -> str:
        pieces: list[str] = []
        try:
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    delta = json.loads(data)["choices"][0].get("delta", {}).get("content")
                except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                    raise PermanentAIError("AI service sent an invalid stream chunk") from exc
                if delta:
                    pieces.append(delta)
                    if on_delta is not None:
                        on_delta(delta)
        except httpx.TransportError as exc:
            raise PermanentAIError(f"AI stream broke off ({type(exc).__name__})") from exc
        reply = "".join(pieces)
        if not reply.strip():
            raise PermanentAIError("AI service streamed no content")
        return reply


class MockProvider:
    """A built-in demo assistant: no network, same answer for the same input, streamed."""

    url = MOCK_URL

    async def complete(
        self, message: str, history: list[Turn], on_delta: DeltaCallback | None = None
    ) -> str:
        excerpt = message if len(message) <= 120 else message[:117] + "..."
        reply = (
            f'[Demo AI reply] I received your message: "{excerpt}". '
            f"({len(history)} earlier messages in context.) This is the built-in demo "
            "assistant (AI_PROVIDER=mock), not medical advice; a doctor will follow up."
        )
        if on_delta is not None:
            for index in range(0, len(reply), 24):
                on_delta(reply[index : index + 24])
                await asyncio.sleep(MOCK_CHUNK_DELAY)
        return reply


def create_provider(settings: Settings, client: httpx.AsyncClient) -> AIProvider:
    if settings.ai_provider == "http":
        return HttpProvider(
            client, settings.ai_service_url, settings.ai_service_api_key.get_secret_value()
        )
    if settings.ai_provider == "openai":
        return OpenAIProvider(client, settings)
    return MockProvider()
