"""Provider parsing and error mapping, against `httpx.MockTransport`."""

import json

import httpx
import pytest

from app.config import Settings
from app.services.ai.providers import (
    HttpProvider,
    OpenAIProvider,
    PermanentAIError,
    RetryableAIError,
    Turn,
    create_provider,
)


def _client(handler: httpx.MockTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=handler)


def _settings(**values: object) -> Settings:
    base: dict[str, object] = {
        "ai_provider": "openai",
        "ai_service_url": "http://ai.test/v1",
        "ai_service_api_key": "k",
        "ai_model": "test-model",
    }
    base.update(values)
    return Settings(_env_file=None, **base)


async def test_http_provider_maps_statuses() -> None:
    statuses = iter([503, 429, 404])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        return httpx.Response(status, headers={"Retry-After": "3"} if status == 429 else {})

    async with _client(httpx.MockTransport(handler)) as client:
        provider = HttpProvider(client, "http://ai.test/chat", "")
        with pytest.raises(RetryableAIError):
            await provider.complete("m", [])
        with pytest.raises(RetryableAIError) as limited:
            await provider.complete("m", [])
        assert limited.value.retry_after == 3
        with pytest.raises(PermanentAIError):
            await provider.complete("m", [])


async def test_http_provider_refuses_blank_reply_and_maps_transport_errors() -> None:
    def blank(request: httpx.Request) -> httpx.Response:
        assert "authorization" not in request.headers
        return httpx.Response(200, json={"reply": "   "})

    async with _client(httpx.MockTransport(blank)) as client:
        with pytest.raises(PermanentAIError, match="no 'reply'"):
            await HttpProvider(client, "http://ai.test/chat", "").complete("m", [])

    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with _client(httpx.MockTransport(broken)) as client:
        with pytest.raises(RetryableAIError, match="timed out"):
            await HttpProvider(client, "http://ai.test/chat", "").complete("m", [])


async def test_openai_provider_sends_model_settings_and_reads_plain_json() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        assert request.url.path == "/v1/chat/completions"
        assert request.headers["authorization"] == "Bearer k"
        return httpx.Response(200, json={"choices": [{"message": {"content": "Hi"}}]})

    async with _client(httpx.MockTransport(handler)) as client:
        provider = OpenAIProvider(client, _settings(ai_temperature=0.1, ai_max_tokens=50))
        reply = await provider.complete("q", [Turn("assistant", "earlier")])
    assert reply == "Hi"
    assert seen[0]["model"] == "test-model" and seen[0]["max_tokens"] == 50
    assert seen[0]["messages"] == [
        {"role": "assistant", "content": "earlier"},
        {"role": "user", "content": "q"},
    ]


async def test_openai_provider_streams_and_rejects_bad_chunks() -> None:
    def stream(lines: list[str]) -> httpx.MockTransport:
        body = "".join(f"{line}\n\n" for line in lines).encode()
        return httpx.MockTransport(
            lambda _r: httpx.Response(
                200, content=body, headers={"content-type": "text/event-stream"}
            )
        )

    chunk = 'data: {"choices":[{"delta":{"content":"%s"}}]}'
    deltas: list[str] = []
    async with _client(stream([": keep-alive", chunk % "a", chunk % "b", "data: [DONE]"])) as c:
        assert await OpenAIProvider(c, _settings()).complete("q", [], deltas.append) == "ab"
    assert deltas == ["a", "b"]
    async with _client(stream(["data: {not json"])) as c:
        with pytest.raises(PermanentAIError, match="invalid stream chunk"):
            await OpenAIProvider(c, _settings()).complete("q", [])
    async with _client(stream(["data: [DONE]"])) as c:
        with pytest.raises(PermanentAIError, match="no content"):
            await OpenAIProvider(c, _settings()).complete("q", [])


async def test_openai_provider_maps_unexpected_json_and_connect_errors() -> None:
    async with _client(httpx.MockTransport(lambda _r: httpx.Response(200, json={}))) as c:
        with pytest.raises(PermanentAIError, match="unexpected completion"):
            await OpenAIProvider(c, _settings()).complete("q", [])

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with _client(httpx.MockTransport(refuse)) as c:
        with pytest.raises(RetryableAIError, match="unreachable"):
            await OpenAIProvider(
                c, _settings(ai_service_url="http://ai.test/v1/chat/completions")
            ).complete("q", [])


async def test_create_provider_by_setting() -> None:
    async with httpx.AsyncClient() as client:
        assert create_provider(_settings(), client).url == "http://ai.test/v1/chat/completions"
        http = create_provider(_settings(ai_provider="http", ai_service_url="http://x/c"), client)
        assert isinstance(http, HttpProvider) and http.url == "http://x/c"
        assert create_provider(_settings(ai_provider="mock"), client).url == "mock://builtin"
