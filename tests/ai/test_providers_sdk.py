"""The SDK providers (openai, deepseek, anthropic) against the stand-in's faithful wire formats:
the request each SDK sends, streamed deltas, the one error classification, no SDK retries, the
reply cap, timeouts and streams that break off."""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.services.ai.providers import (
    AIProvider,
    PermanentAIError,
    Prompt,
    RetryableAIError,
    Turn,
    create_provider,
)
from app.services.ai.providers.anthropic_messages import LEADING_USER_TURN
from tests.ai.standin import Received, StandInAI

Make = Callable[..., Any]
"""`make(provider, **settings) -> AIProvider`"""
KEY = "sk-stand-in-secret"
SDK_PROVIDERS = ["openai", "anthropic"]
PROMPT = Prompt(
    "And a cough",
    [
        Turn("user", "Fever since Monday"),
        Turn("user", "[Doctor Wang] How high?"),
        Turn("assistant", "Please measure it."),
    ],
    "You are a careful assistant.",
)


@pytest.fixture
async def stand_in() -> AsyncIterator[StandInAI]:
    stub = StandInAI()
    await stub.start()
    try:
        yield stub
    finally:
        await stub.stop()


@pytest.fixture
async def make(stand_in: StandInAI) -> AsyncIterator[Make]:
    """`make(provider, **settings)`: a provider built by `create_provider` from Settings that
    point at the stand-in; closed after the test."""
    made: list[AIProvider] = []
    client = httpx.AsyncClient()

    def build(provider: str, **values: object) -> AIProvider:
        settings: dict[str, Any] = {
            "ai_provider": provider,
            "ai_service_url": stand_in.url_for(provider),
            "ai_service_api_key": KEY,
            "ai_service_timeout": 5.0,
        }
        settings.update(values)
        made.append(create_provider(Settings(_env_file=None, **settings), client))
        return made[-1]

    yield build
    for provider in made:
        await provider.aclose()
    await client.aclose()


async def _done(received: Received) -> Received:
    await asyncio.wait_for(received.done.wait(), 10)
    return received


async def test_openai_streams_deltas_and_sends_a_chat_completion_request(
    stand_in: StandInAI, make: Make
) -> None:
    stand_in.then("stream", chunks=["Rest ", "and ", "drink ", "water."])
    provider = make("openai", ai_model="m-1", ai_temperature=0.2, ai_max_tokens=321)
    deltas: list[str] = []
    assert await provider.complete(PROMPT, deltas.append) == "Rest and drink water."
    assert deltas == ["Rest ", "and ", "drink ", "water."]
    [request] = stand_in.received
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["x-stainless-retry-count"] == "0"
    assert request.body == {
        "model": "m-1",
        "stream": True,
        "temperature": 0.2,
        "max_tokens": 321,
        "messages": [
            {"role": "system", "content": "You are a careful assistant."},
            {"role": "user", "content": "Fever since Monday"},
            {"role": "user", "content": "[Doctor Wang] How high?"},
            {"role": "assistant", "content": "Please measure it."},
            {"role": "user", "content": "And a cough"},
        ],
    }


async def test_anthropic_streams_deltas_with_system_apart_and_alternating_turns(
    stand_in: StandInAI, make: Make
) -> None:
    stand_in.then("stream", chunks=["Keep ", "warm."])
    provider = make("anthropic", ai_max_tokens=456)
    deltas: list[str] = []
    assert await provider.complete(PROMPT, deltas.append) == "Keep warm."
    assert deltas == ["Keep ", "warm."]
    [request] = stand_in.received
    assert request.path == "/v1/messages"
    # This SDK sends the key as a Bearer token (older ones used x-api-key).
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert "anthropic-version" in request.headers
    assert request.body == {
        "model": "claude-sonnet-4-6",
        "max_tokens": 456,
        "stream": True,
        "system": "You are a careful assistant.",
        "messages": [
            {"role": "user", "content": "Fever since Monday\n\n[Doctor Wang] How high?"},
            {"role": "assistant", "content": "Please measure it."},
            {"role": "user", "content": "And a cough"},
        ],
    }


async def test_anthropic_history_opening_with_the_assistant_gets_a_user_turn_first(
    stand_in: StandInAI, make: Make
) -> None:
    provider = make("anthropic")
    prompt = Prompt("Thanks", [Turn("assistant", "Hello"), Turn("assistant", "Anything else?")], "")
    await provider.complete(prompt)
    body = stand_in.received[0].body
    assert "system" not in body, "an empty system prompt is left out"
    assert body["messages"] == [
        {"role": "user", "content": LEADING_USER_TURN},
        {"role": "assistant", "content": "Hello\n\nAnything else?"},
        {"role": "user", "content": "Thanks"},
    ]


async def test_deepseek_preset_and_defaults(stand_in: StandInAI, make: Make) -> None:
    preset = Settings(_env_file=None, ai_provider="deepseek")
    assert (preset.ai_service_url, preset.ai_model) == ("https://api.deepseek.com", "deepseek-chat")
    async with httpx.AsyncClient() as client:
        provider = create_provider(preset, client)
        assert (provider.name, provider.url) == ("deepseek", "https://api.deepseek.com")
        await provider.aclose()
    assert Settings(_env_file=None, ai_provider="openai").ai_model == "gpt-4o-mini"
    assert Settings(_env_file=None, ai_provider="anthropic").ai_model == "claude-sonnet-4-6"
    assert Settings(
        _env_file=None, ai_provider="deepseek", ai_model="deepseek-reasoner"
    ).ai_model == ("deepseek-reasoner")

    deepseek = make("deepseek")
    assert await deepseek.complete(PROMPT) == "Stand-in AI reply"
    assert stand_in.received[0].path == "/v1/chat/completions"
    assert stand_in.received[0].body["model"] == "deepseek-chat"


@pytest.mark.parametrize("provider", SDK_PROVIDERS)
@pytest.mark.parametrize(
    ("status", "retry_after", "error", "detail"),
    [
        (429, "7", RetryableAIError, "429"),
        (500, None, RetryableAIError, "500"),
        (503, None, RetryableAIError, "503"),
        (529, None, RetryableAIError, "529"),
        (400, None, PermanentAIError, "400"),
        (401, None, PermanentAIError, "401"),
        (403, None, PermanentAIError, "403"),
        (404, None, PermanentAIError, "404"),
        (422, None, PermanentAIError, "422"),
    ],
)
async def test_status_errors_are_classified_once_without_sdk_retries(
    stand_in: StandInAI,
    make: Make,
    provider: str,
    status: int,
    retry_after: str | None,
    error: type[Exception],
    detail: str,
) -> None:
    headers = {"retry-after": retry_after} if retry_after else {}
    stand_in.then("status", status=status, headers=headers)
    with pytest.raises(error) as caught:
        await make(provider).complete(PROMPT)
    assert len(stand_in.received) == 1, "the SDK made no retry of its own"
    assert f"HTTP {detail}" in str(caught.value) and KEY not in str(caught.value)
    if isinstance(caught.value, RetryableAIError):
        assert caught.value.retry_after == (7.0 if retry_after else None)


async def test_anthropic_error_type_names_the_cause(stand_in: StandInAI, make: Make) -> None:
    stand_in.then("status", status=529).then("status", status=401)
    provider = make("anthropic")
    with pytest.raises(RetryableAIError, match=r"HTTP 529 \(overloaded_error\)"):
        await provider.complete(PROMPT)
    with pytest.raises(PermanentAIError, match=r"HTTP 401 \(authentication_error\)"):
        await provider.complete(PROMPT)


@pytest.mark.parametrize(
    ("error_type", "error"),
    [
        ("overloaded_error", RetryableAIError),
        ("api_error", RetryableAIError),
        ("invalid_request_error", PermanentAIError),
    ],
)
async def test_anthropic_error_event_in_the_stream_is_mapped_by_type(
    stand_in: StandInAI, make: Make, error_type: str, error: type[Exception]
) -> None:
    stand_in.then("stream_error", chunks=["Part", "ial"], error_type=error_type)
    deltas: list[str] = []
    with pytest.raises(error, match=error_type):
        await make("anthropic").complete(PROMPT, deltas.append)
    assert deltas == ["Part"]


async def test_openai_error_object_in_the_stream_is_permanent(
    stand_in: StandInAI, make: Make
) -> None:
    stand_in.then("stream_error", chunks=["Part", "ial"])
    with pytest.raises(PermanentAIError, match="error in the stream"):
        await make("openai").complete(PROMPT)


@pytest.mark.parametrize("provider", SDK_PROVIDERS)
async def test_a_stream_cut_in_the_middle_is_an_error(
    stand_in: StandInAI, make: Make, provider: str
) -> None:
    stand_in.then("cut", chunks=["one ", "two ", "three ", "four"])
    deltas: list[str] = []
    with pytest.raises(PermanentAIError, match="broke off after") as caught:
        await make(provider).complete(PROMPT, deltas.append)
    assert deltas and "".join(deltas) != "one two three four"
    assert f"after {len(''.join(deltas))} characters" in str(caught.value)


@pytest.mark.parametrize("provider", SDK_PROVIDERS)
async def test_an_unexpected_shape_is_permanent(
    stand_in: StandInAI, make: Make, provider: str
) -> None:
    stand_in.then("shape")
    with pytest.raises(PermanentAIError, match="unexpected response"):
        await make(provider).complete(PROMPT)


@pytest.mark.parametrize("provider", SDK_PROVIDERS)
async def test_events_of_unexpected_shapes_are_skipped(
    stand_in: StandInAI, make: Make, provider: str
) -> None:
    stand_in.then("odd_events", chunks=["Still ", "fine."])
    deltas: list[str] = []
    assert await make(provider).complete(PROMPT, deltas.append) == "Still fine."
    assert deltas == ["Still ", "fine."]


@pytest.mark.parametrize("provider", SDK_PROVIDERS)
async def test_an_empty_reply_is_permanent(stand_in: StandInAI, make: Make, provider: str) -> None:
    stand_in.then("stream", chunks=["", "  "])
    with pytest.raises(PermanentAIError, match="empty reply"):
        await make(provider).complete(PROMPT)


@pytest.mark.parametrize("provider", SDK_PROVIDERS)
async def test_reading_stops_at_the_reply_cap(
    stand_in: StandInAI, make: Make, provider: str
) -> None:
    size = 50_000_000
    stand_in.then("huge", size=size)
    deltas: list[str] = []
    reply = await make(provider, ai_max_reply_chars=5_000).complete(PROMPT, deltas.append)
    assert 5_000 < len(reply) <= 6_000, "what arrived, for the caller to cut and mark"
    assert "".join(deltas) == reply
    received = await _done(stand_in.received[0])
    assert received.client_hung_up, "the provider closed the stream"
    assert received.bytes_sent < size // 10


@pytest.mark.parametrize("provider", SDK_PROVIDERS)
async def test_a_hanging_service_times_out_as_retryable(
    stand_in: StandInAI, make: Make, provider: str
) -> None:
    stand_in.then("hang")
    with pytest.raises(RetryableAIError, match="timed out"):
        await make(provider, ai_service_timeout=0.3).complete(PROMPT)
    assert len(stand_in.received) == 1
    assert (await _done(stand_in.received[0])).client_hung_up


@pytest.mark.parametrize("provider", SDK_PROVIDERS)
async def test_the_callers_deadline_cancels_the_call_and_closes_the_connection(
    stand_in: StandInAI, make: Make, provider: str
) -> None:
    stand_in.then("hang")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await make(provider, ai_service_timeout=30.0).complete(PROMPT)
    assert (await _done(stand_in.received[0])).client_hung_up


@pytest.mark.parametrize("provider", SDK_PROVIDERS)
async def test_an_unreachable_service_is_retryable(make: Make, provider: str) -> None:
    closed = "http://127.0.0.1:9"  # discard port: nothing listens on loopback
    with pytest.raises(RetryableAIError, match="unreachable"):
        await make(provider, ai_service_url=closed).complete(PROMPT)


@pytest.mark.parametrize("provider", SDK_PROVIDERS)
async def test_aclose_closes_the_sdk_client(make: Make, provider: str) -> None:
    built = make(provider)
    await built.aclose()
    assert built.client.is_closed()
