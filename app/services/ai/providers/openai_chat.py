"""`AI_PROVIDER=openai` and `deepseek`: chat completions through the official `openai` SDK,
streamed, against any OpenAI-compatible endpoint (`AI_SERVICE_URL` is the SDK's `base_url`).

The SDK never retries (`max_retries=0`); its errors become ours in `_mapped`.
"""

from __future__ import annotations

import openai
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletionContentPartParam, ChatCompletionMessageParam

from app.services.ai.providers.base import (
    AIError,
    DeltaCallback,
    PermanentAIError,
    Prompt,
    broke_off,
    status_error,
    timed_out,
    unreachable,
)
from app.services.ai.providers.sdk import PLACEHOLDER_KEY, StreamEnd, reply_from, sdk_timeout


class OpenAIChatProvider:
    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        api_key: str,
        model: str,
        temperature: float,
        max_tokens: int,
        max_reply_chars: int,
        timeout: float,
        vision: bool = False,
    ) -> None:
        self.name = name
        self.vision = vision
        self.url = base_url
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.max_reply_chars = max_reply_chars
        self.client = AsyncOpenAI(
            api_key=api_key or PLACEHOLDER_KEY,
            base_url=base_url,
            timeout=sdk_timeout(timeout),
            max_retries=0,
        )

    async def complete(self, prompt: Prompt, on_delta: DeltaCallback | None = None) -> str:
        pieces: list[str] = []
        try:
            stream = await self._create(_messages(prompt, vision=self.vision))
            async with stream:
                end = await self._read(stream, pieces, on_delta)
        except openai.OpenAIError as exc:
            raise _mapped(exc, sum(map(len, pieces))) from exc
        except ValueError as exc:  # a chunk that is not JSON
            raise PermanentAIError("AI service sent an invalid stream chunk") from exc
        return reply_from(pieces, end, "finish_reason")

    async def _create(self, messages: list[ChatCompletionMessageParam]) -> AsyncStream[object]:
        """`chat.completions.create(stream=True)` without its parameter transform: the SDK walks
        every parameter and message through its type-driven transformer (~1 ms of CPU per call
        with a 20-message history, on the event loop the sends share), a no-op for the plain
        strings sent here. The request goes through the SDK's documented `post` for custom
        requests; the stream (SSE decoding, errors sent inside it) is the SDK's own, its chunks
        the JSON as sent (`object`): building a `ChatCompletionChunk` model per chunk was ~5 %
        of a busy server's CPU, for two fields read here."""
        body = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stream": True,
        }
        return await self.client.post(
            "/chat/completions",
            body=body,
            cast_to=object,
            stream=True,
            stream_cls=AsyncStream[object],
        )

    async def _read(
        self,
        stream: AsyncStream[object],
        pieces: list[str],
        on_delta: DeltaCallback | None,
    ) -> StreamEnd:
        """Append text deltas until a `finish_reason`, the reply cap, or the stream's end."""
        size = 0
        end: StreamEnd = "silent"
        async for chunk in stream:
            end = "incomplete"
            text, finish_reason = _chunk_parts(chunk)
            if text:
                pieces.append(text)
                size += len(text)
                if on_delta is not None:
                    on_delta(text)
                if size > self.max_reply_chars:
                    return "finished"  # the caller cuts and marks it; closing stops the rest
            if finish_reason:
                return "finished"
        return end

    async def aclose(self) -> None:
        await self.client.close()


def _messages(prompt: Prompt, *, vision: bool = False) -> list[ChatCompletionMessageParam]:
    messages: list[ChatCompletionMessageParam] = []
    if prompt.system:
        messages.append({"role": "system", "content": prompt.system})
    for turn in prompt.history:
        if turn.role == "assistant":
            messages.append({"role": "assistant", "content": turn.content})
        else:
            messages.append({"role": "user", "content": turn.content})
    if vision and prompt.images:  # SPEC §12, AI_VISION: the image itself, as content parts
        parts: list[ChatCompletionContentPartParam] = [{"type": "text", "text": prompt.message}]
        parts += [{"type": "image_url", "image_url": {"url": i.data_url()}} for i in prompt.images]
        messages.append({"role": "user", "content": parts})
    else:
        messages.append({"role": "user", "content": prompt.message})
    return messages


def _chunk_parts(chunk: object) -> tuple[str | None, str | None]:
    """The text and finish reason of a chunk; a chunk without `choices` (usage, keep-alive, or
    an unexpected shape) has neither."""
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None, None
    choice = choices[0]
    delta = choice.get("delta")
    text = delta.get("content") if isinstance(delta, dict) else None
    finish_reason = choice.get("finish_reason")
    return (text if isinstance(text, str) else None), (
        finish_reason if isinstance(finish_reason, str) else None
    )


def _mapped(exc: openai.OpenAIError, received: int) -> AIError:
    if received and isinstance(exc, openai.APIConnectionError):
        return broke_off(received, type(exc).__name__)
    if isinstance(exc, openai.APITimeoutError):
        return timed_out()
    if isinstance(exc, openai.APIConnectionError):
        return unreachable(type(exc.__cause__ or exc).__name__)
    if isinstance(exc, openai.APIStatusError):
        detail = exc.code or exc.type
        return status_error(exc.status_code, exc.response.headers.get("retry-after"), detail)
    if isinstance(exc, openai.APIError):  # an `error` object inside the stream
        return PermanentAIError(f"AI service reported an error in the stream ({exc.type})")
    return PermanentAIError(f"AI client error ({type(exc).__name__})")
