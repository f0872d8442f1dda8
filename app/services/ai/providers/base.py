"""What every AI provider shares: the prompt, the interface, and one error classification.

    AIError                  an AI call that produced no usable reply
    ├── RetryableAIError     connection error, timeout, 408, 429 (with `retry_after`), 5xx, 529
    └── PermanentAIError     other 4xx, an unexpected response, an empty or over-long reply,
                             a stream that broke off after text arrived

Providers never retry (the SDKs' own retries are off): the caller owns the one retry policy.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal, Protocol

DeltaCallback = Callable[[str], None]
SAFE_DETAIL = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class PromptImage:
    """An image the message carries (SPEC §12): an absolute, short-lived signed URL."""

    url: str
    mime: str
    name: str
    jpeg: bytes | None = None
    """The image itself, scaled down (AI_VISION): sent inline by the SDK providers."""

    def data_url(self) -> str:
        """`data:image/jpeg;base64,…` when the image itself is at hand, else the signed URL."""
        if self.jpeg is None:
            return self.url
        return "data:image/jpeg;base64," + base64.b64encode(self.jpeg).decode()


@dataclass(frozen=True)
class Prompt:
    """One request to the AI: the task's `message`, the conversation before it (`history`,
    oldest first), the `system` prompt, the `kind` of task (REPLY, SUMMARY, SUGGESTION), and
    the images the message carries."""

    message: str
    history: Sequence[Turn]
    system: str
    kind: str = "REPLY"
    images: Sequence[PromptImage] = ()


class AIError(Exception):
    """An AI call that did not produce a reply."""


class RetryableAIError(AIError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentAIError(AIError):
    pass


class AIProvider(Protocol):
    name: str
    """The `AI_PROVIDER` value this provider serves."""
    url: str
    """The endpoint, as recorded in `ai_interaction_records.ai_service_url`."""

    async def complete(self, prompt: Prompt, on_delta: DeltaCallback | None = None) -> str:
        """The reply text; `on_delta` receives streamed pieces when the provider streams."""

    async def aclose(self) -> None:
        """Release what the provider owns (an SDK client); the shared HTTP client is not its."""


def status_error(status: int, retry_after: str | None = None, detail: str | None = None) -> AIError:
    """The error for an HTTP status the AI service answered with (any provider).

    `detail` is a short error type or code from the body (never its message, which may quote
    the key); `retry_after` the raw `Retry-After` header.
    """
    if detail is not None and not SAFE_DETAIL.fullmatch(detail):
        detail = None  # the group sees this text: only an identifier-like code passes
    text = f"AI service answered HTTP {status}" + (f" ({detail})" if detail else "")
    if status in (408, 429) or status >= 500:
        return RetryableAIError(text, parse_retry_after(retry_after))
    return PermanentAIError(text)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(seconds, 0.0) if seconds == seconds else None  # NaN is no delay


def timed_out() -> RetryableAIError:
    return RetryableAIError("AI service timed out")


def unreachable(reason: str) -> RetryableAIError:
    return RetryableAIError(f"AI service unreachable ({reason})")


def broke_off(received: int, reason: str) -> PermanentAIError:
    return PermanentAIError(f"AI stream broke off after {received} characters ({reason})")


def empty_reply() -> PermanentAIError:
    return PermanentAIError("AI service returned an empty reply")
