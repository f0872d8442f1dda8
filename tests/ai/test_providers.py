"""The seed-contract provider (`http`), the demo (`mock`) and `create_provider`: parsing and
error mapping against `httpx.MockTransport`, the body cap against the real stand-in."""

import asyncio
import json
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.services.ai.providers import (
    HttpProvider,
    MockProvider,
    PermanentAIError,
    Prompt,
    RetryableAIError,
    Turn,
    create_provider,
)
from app.services.ai.providers.base import parse_retry_after, status_error
from app.services.ai.providers.http import body_cap
from tests.ai.standin import StandInAI

PROMPT = Prompt("m", [Turn("user", "earlier"), Turn("assistant", "answer")], "be kind")


def _settings(**values: Any) -> Settings:
    base: dict[str, Any] = {
        "ai_provider": "http",
        "ai_service_url": "http://ai.test/chat",
        "ai_service_api_key": "k",
    }
    base.update(values)
    return Settings(_env_file=None, **base)


def _provider(handler: httpx.MockTransport | None = None, **values: object) -> HttpProvider:
    client = httpx.AsyncClient(transport=handler)
    provider = create_provider(_settings(**values), client)
    assert isinstance(provider, HttpProvider)
    return provider


async def test_http_provider_sends_the_seed_contract() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"reply": "ok"})

    provider = _provider(httpx.MockTransport(handler))
    assert await provider.complete(PROMPT) == "ok"
    assert await provider.complete(Prompt("sum up", [], "", kind="SUMMARY")) == "ok"
    first, second = (json.loads(r.content) for r in seen)
    assert seen[0].headers["authorization"] == "Bearer k"
    assert first == {
        "message": "m",
        "history": [
            {"role": "user", "content": "earlier"},
            {"role": "assistant", "content": "answer"},
        ],
    }, "no system prompt and no kind on the seed's wire for a REPLY"
    assert second == {"message": "sum up", "history": [], "kind": "SUMMARY"}


async def test_http_provider_maps_statuses() -> None:
    statuses = iter([503, 429, 404, 408])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        return httpx.Response(status, headers={"Retry-After": "3"} if status == 429 else {})

    provider = _provider(httpx.MockTransport(handler))
    with pytest.raises(RetryableAIError, match="HTTP 503"):
        await provider.complete(PROMPT)
    with pytest.raises(RetryableAIError) as limited:
        await provider.complete(PROMPT)
    assert limited.value.retry_after == 3
    with pytest.raises(PermanentAIError, match="HTTP 404"):
        await provider.complete(PROMPT)
    with pytest.raises(RetryableAIError, match="HTTP 408"):
        await provider.complete(PROMPT)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"<html>", "invalid JSON"),
        (b'{"answer": "x"}', "no 'reply'"),
        (b'["reply"]', "no 'reply'"),
        (b'{"reply": "   "}', "empty reply"),
    ],
)
async def test_http_provider_refuses_unexpected_bodies(body: bytes, error: str) -> None:
    provider = _provider(httpx.MockTransport(lambda _r: httpx.Response(200, content=body)))
    with pytest.raises(PermanentAIError, match=error):
        await provider.complete(PROMPT)


async def test_http_provider_maps_transport_errors_and_sends_no_key_when_unset() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        assert "authorization" not in request.headers
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(RetryableAIError, match="timed out"):
        await _provider(httpx.MockTransport(slow), ai_service_api_key="").complete(PROMPT)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(RetryableAIError, match="unreachable"):
        await _provider(httpx.MockTransport(refuse)).complete(PROMPT)


async def test_a_longest_reply_in_escaped_cjk_fits_under_the_cap() -> None:
    """Python's json.dumps escapes every CJK character as six bytes (\\uXXXX)."""
    reply = "你" * 1000
    body = json.dumps({"reply": reply}).encode()
    assert len(body) > 4 * 1000, "more than 4 bytes per character on the wire"
    provider = _provider(
        httpx.MockTransport(lambda _r: httpx.Response(200, content=body)),
        ai_max_reply_chars=1000,
    )
    assert provider.max_body_bytes == body_cap(1000) == 64 * 1024
    assert await provider.complete(PROMPT) == reply


@pytest.fixture
async def stand_in() -> AsyncIterator[StandInAI]:
    stub = StandInAI()
    await stub.start()
    try:
        yield stub
    finally:
        await stub.stop()


@pytest.mark.parametrize("declare_length", [False, True], ids=["chunked", "content-length"])
async def test_a_huge_body_is_refused_without_reading_it(
    stand_in: StandInAI, declare_length: bool
) -> None:
    size = 100_000_000
    stand_in.then("huge", size=size, declare_length=declare_length)
    async with httpx.AsyncClient() as client:
        provider = create_provider(_settings(ai_service_url=stand_in.chat_url), client)
        tracemalloc.start()
        try:
            with pytest.raises(PermanentAIError, match=r"exceeds \d+ bytes"):
                await provider.complete(PROMPT)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    [received] = stand_in.received
    await asyncio.wait_for(received.done.wait(), 10)
    assert received.client_hung_up, "the provider closed the connection mid-body"
    assert received.bytes_sent < size // 10
    assert peak < 8 * body_cap(20_000), f"memory stays bounded (peak {peak} bytes)"


async def test_mock_provider_is_deterministic_streams_and_owns_nothing() -> None:
    provider = create_provider(_settings(ai_provider="mock"), httpx.AsyncClient())
    assert isinstance(provider, MockProvider)
    assert (provider.name, provider.url) == ("mock", "mock://builtin")
    deltas: list[str] = []
    reply = await provider.complete(PROMPT, deltas.append)
    assert reply == await provider.complete(PROMPT)
    assert "".join(deltas) == reply and len(deltas) > 1
    assert reply.startswith("[Demo AI reply]") and "2 earlier messages" in reply
    await provider.aclose()


async def test_create_provider_by_setting() -> None:
    client = httpx.AsyncClient()
    http = create_provider(_settings(ai_service_url="http://x/c"), client)
    assert isinstance(http, HttpProvider) and (http.name, http.url) == ("http", "http://x/c")
    await http.aclose()
    assert not client.is_closed, "the shared client belongs to the AI layer, not the provider"
    await client.aclose()


def test_one_status_classification_for_every_provider() -> None:
    retryable = [status_error(s) for s in (408, 429, 500, 502, 503, 529)]
    permanent = [status_error(s) for s in (400, 401, 403, 404, 409, 413, 422)]
    assert all(isinstance(e, RetryableAIError) for e in retryable)
    assert all(isinstance(e, PermanentAIError) for e in permanent)
    assert str(status_error(401, None, "authentication_error")) == (
        "AI service answered HTTP 401 (authentication_error)"
    )
    assert str(status_error(401, None, "Incorrect key sk-abc provided")) == (
        "AI service answered HTTP 401"
    ), "only an identifier-like code from the body is shown (the group sees this text)"


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert parse_retry_after("7") == 7.0 and parse_retry_after("0.5") == 0.5
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < (parse_retry_after(later) or 0) <= 30
    assert parse_retry_after(None) is parse_retry_after("soon") is parse_retry_after("nan") is None
    assert parse_retry_after("-3") == 0.0
