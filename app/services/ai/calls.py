"""Calling the provider under the retry policy (SPEC §7, §14): retryable failures (connection,
timeout, 5xx, 429) are retried with exponential back-off up to `AI_MAX_RETRIES`, permanent ones
are not, nothing is retried once text has streamed to the group, and the whole reply — every
attempt and every back-off — ends within `AI_REPLY_DEADLINE`: an attempt gets at most the time
left, and a retry starts only if there is time for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.config import Settings
from app.services.ai.providers import AIProvider, PermanentAIError, Prompt, RetryableAIError

logger = logging.getLogger(__name__)

MIN_ATTEMPT_SECONDS = 1.0
"""A retry that would have less time than this before the deadline is not started."""


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int
    backoff: float
    attempt_timeout: float
    deadline: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_retries=settings.ai_max_retries,
            backoff=settings.ai_retry_backoff,
            attempt_timeout=settings.ai_service_timeout,
            deadline=settings.ai_reply_deadline,
        )


class AIFailure(Exception):
    """The reply could not be produced; `str()` is the record's error_message."""

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


async def call_with_retries(
    provider: AIProvider,
    prompt: Prompt,
    policy: RetryPolicy,
    on_delta: Callable[[str], None],
    *,
    record_id: str,
) -> tuple[str, int]:
    """(reply, attempts made); raises AIFailure."""
    loop = asyncio.get_running_loop()
    ends = loop.time() + policy.deadline
    attempts = 0
    while True:
        attempts += 1
        streamed = False

        def delta(piece: str) -> None:
            nonlocal streamed
            streamed = True
            on_delta(piece)

        started = time.perf_counter()
        try:
            async with asyncio.timeout(min(policy.attempt_timeout, ends - loop.time())):
                reply = await provider.complete(prompt, delta)
        except PermanentAIError as exc:
            _log(record_id, attempts, started, str(exc))
            raise AIFailure(str(exc), attempts) from exc
        except (RetryableAIError, TimeoutError) as exc:
            error = str(exc) if isinstance(exc, RetryableAIError) else "timed out"
            _log(record_id, attempts, started, error)
            retry_after = exc.retry_after if isinstance(exc, RetryableAIError) else None
        except Exception as exc:  # a provider's bug must still end the record, not strand it
            logger.exception("ai call record=%s raised unexpectedly", record_id)
            raise AIFailure(
                f"the AI provider failed unexpectedly ({type(exc).__name__})", attempts
            ) from exc
        else:
            _log(record_id, attempts, started, "ok")
            return reply, attempts
        if loop.time() >= ends:
            raise AIFailure(
                f"no reply within the {policy.deadline:g} s reply deadline "
                f"(after {attempts} attempts)",
                attempts,
            )
        if streamed or attempts > policy.max_retries:
            raise AIFailure(f"{error} (after {attempts} attempts)", attempts)
        delay = policy.backoff * 2 ** (attempts - 1)
        if retry_after is not None:
            delay = max(delay, min(retry_after, policy.attempt_timeout))
        if loop.time() + delay + MIN_ATTEMPT_SECONDS > ends:
            raise AIFailure(
                f"{error}; no time left for a retry within the {policy.deadline:g} s reply "
                f"deadline (after {attempts} attempts)",
                attempts,
            )
        await asyncio.sleep(delay)


def _log(record_id: str, attempt: int, started: float, outcome: str) -> None:
    logger.info(
        "ai call record=%s attempt=%d %.0fms: %s",
        record_id,
        attempt,
        (time.perf_counter() - started) * 1000,
        outcome,
    )
