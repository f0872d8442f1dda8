"""`AI_PROVIDER=anthropic`: the Messages API through the official `anthropic` SDK, streamed,
with the system prompt passed apart and the history as strictly alternating turns. The Messages
API of this SDK takes no temperature: `AI_TEMPERATURE` is not sent.

The SDK never retries (`max_retries=0`); its errors, and the stream's own `error` event, become
ours in `_mapped`.
"""

from __future__ import annotations

import base64

import anthropic
import httpx2
from anthropic import AsyncAnthropic, AsyncStream
from anthropic.types import (
    ImageBlockParam,
    MessageParam,
    RawMessageStreamEvent,
    TextBlockParam,
)

from app.services.ai.providers.base import (
    AIError,
    DeltaCallback,
    PermanentAIError,
    Prompt,
    PromptImage,
    RetryableAIError,
    Turn,
    broke_off,
    status_error,
    timed_out,
    unreachable,
)
from app.services.ai.providers.sdk import PLACEHOLDER_KEY, StreamEnd, reply_from, sdk_timeout

LEADING_USER_TURN = "(earlier conversation)"
"""Stands before a history that opens with an assistant turn: the API wants `user` first."""
RETRYABLE_STREAM_ERRORS = frozenset({"overloaded_error", "api_error"})


class AnthropicProvider:
    name = "anthropic"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        max_tokens: int,
        max_reply_chars: int,
        timeout: float,
        vision: bool = False,
    ) -> None:
        self.url = base_url
        self.vision = vision
        self.model = model
        self.max_tokens = max_tokens
        self.max_reply_chars = max_reply_chars
        self.client = AsyncAnthropic(
            api_key=api_key or PLACEHOLDER_KEY,
            base_url=base_url,
            timeout=sdk_timeout(timeout),
            max_retries=0,
        )

    async def complete(self, prompt: Prompt, on_delta: DeltaCallback | None = None) -> str:
        pieces: list[str] = []
        try:
            stream = await self.client.messages.create(
                model=self.model,
                max_tokens=self.max_tokens,
                messages=alternating(prompt, vision=self.vision),
                stream=True,
                system=prompt.system or anthropic.omit,
            )
            async with stream:
                end = await self._read(stream, pieces, on_delta)
        except anthropic.AnthropicError as exc:
            raise _mapped(exc, sum(map(len, pieces))) from exc
        except httpx2.TransportError as exc:  # the SDK passes transport errors mid-stream through
            raise _transport(exc, sum(map(len, pieces))) from exc
        except ValueError as exc:  # an event that is not JSON
            raise PermanentAIError("AI service sent an invalid stream event") from exc
        return reply_from(pieces, end, "message_stop")

    async def _read(
        self,
        stream: AsyncStream[RawMessageStreamEvent],
        pieces: list[str],
        on_delta: DeltaCallback | None,
    ) -> StreamEnd:
        """Append text deltas until `message_stop`, the reply cap, or the stream's end."""
        size = 0
        end: StreamEnd = "silent"
        async for event in stream:
            end = "incomplete"
            kind = getattr(event, "type", None)  # an unexpected shape lacks what it should have
            if kind == "message_stop":
                return "finished"
            delta = getattr(event, "delta", None)
            if kind != "content_block_delta" or getattr(delta, "type", None) != "text_delta":
                continue
            text = getattr(delta, "text", None)
            if not isinstance(text, str) or not text:
                continue
            pieces.append(text)
            size += len(text)
            if on_delta is not None:
                on_delta(text)
            if size > self.max_reply_chars:
                return "finished"  # the caller cuts and marks it; closing stops the rest
        return end

    async def aclose(self) -> None:
        await self.client.close()


def alternating(prompt: Prompt, *, vision: bool = False) -> list[MessageParam]:
    """History and message as user/assistant turns that alternate and open with `user`:
    consecutive turns of one role are joined (a patient's several messages in a row). With
    `vision`, the message's images follow its text in the last turn (SPEC §12)."""
    turns = [*prompt.history, Turn("user", prompt.message)]
    if turns[0].role != "user":
        turns.insert(0, Turn("user", LEADING_USER_TURN))
    merged: list[Turn] = []
    for turn in turns:
        if merged and merged[-1].role == turn.role:
            merged[-1] = Turn(turn.role, f"{merged[-1].content}\n\n{turn.content}")
        else:
            merged.append(turn)
    params = [_param(turn) for turn in merged]
    if vision and prompt.images:
        blocks: list[TextBlockParam | ImageBlockParam] = [
            {"type": "text", "text": merged[-1].content}
        ]
        blocks += [_image_block(image) for image in prompt.images]
        params[-1] = {"role": "user", "content": blocks}
    return params


def _image_block(image: PromptImage) -> ImageBlockParam:
    """The image itself (base64) when at hand, else its signed URL."""
    if image.jpeg is None:
        return {"type": "image", "source": {"type": "url", "url": image.url}}
    data = base64.b64encode(image.jpeg).decode()
    return {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": data}}


def _param(turn: Turn) -> MessageParam:
    if turn.role == "assistant":
        return {"role": "assistant", "content": turn.content}
    return {"role": "user", "content": turn.content}


def _transport(exc: httpx2.TransportError, received: int) -> AIError:
    if received:
        return broke_off(received, type(exc).__name__)
    if isinstance(exc, httpx2.TimeoutException):
        return timed_out()
    return unreachable(type(exc).__name__)


def _mapped(exc: anthropic.AnthropicError, received: int) -> AIError:
    if received and isinstance(exc, anthropic.APIConnectionError):
        return broke_off(received, type(exc).__name__)
    if isinstance(exc, anthropic.APITimeoutError):
        return timed_out()
    if isinstance(exc, anthropic.APIConnectionError):
        return unreachable(type(exc.__cause__ or exc).__name__)
    if isinstance(exc, anthropic.APIStatusError) and exc.status_code < 400:
        # The stream's `error` event, after a 200: classified by its type.
        text = f"AI service reported {exc.type or 'an error'} in the stream"
        return (
            RetryableAIError(text)
            if exc.type in RETRYABLE_STREAM_ERRORS
            else PermanentAIError(text)
        )
    if isinstance(exc, anthropic.APIStatusError):
        return status_error(exc.status_code, exc.response.headers.get("retry-after"), exc.type)
    return PermanentAIError(f"AI client error ({type(exc).__name__})")
