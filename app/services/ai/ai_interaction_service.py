"""Processing one AI request: claim the outbox record, build the history, call the provider
with retries, store the reply as the AI assistant's message, and record the outcome.

Events to the group: `ai_status` PROCESSING, `ai_reply_delta` while a provider streams, the
reply `message`, then `ai_status` SUCCESS — or `ai_status` FAILED with the record's error.
The reply and the record's SUCCESS commit together, so a crash never posts a reply twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from app.config import Settings
from app.db.base import utcnow
from app.db.session import Database
from app.metrics import AI_CALLS, AI_LATENCY
from app.models import AIStatus, UserRole
from app.repositories.ai_interaction_repository import AIInteractionRepository
from app.repositories.message_repository import MessageRepository
from app.services.ai.providers import (
    AIError,
    AIProvider,
    PermanentAIError,
    Prompt,
    RetryableAIError,
    Turn,
)
from app.services.core.events import EventSink
from app.services.core.message_service import MessageService

logger = logging.getLogger(__name__)

LEASE_MARGIN_SECONDS = 5.0
PENDING_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class AIRequest:
    record_id: str
    group_id: str
    user_message_id: str
    message: str
    history: list[Turn]


class AIFailure(Exception):
    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class AIInteractionService:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        provider: AIProvider,
        messages: MessageService,
        events: EventSink,
        assistant_user_id: str,
    ) -> None:
        self.db = db
        self.settings = settings
        self.provider = provider
        self.messages = messages
        self.events = events
        self.assistant_user_id = assistant_user_id

    @property
    def lease(self) -> timedelta:
        """How long a PROCESSING record may go untouched before its worker is presumed dead:
        every attempt timing out, every back-off slept, plus a margin."""
        s = self.settings
        backoff = sum(s.ai_retry_backoff * 2**i for i in range(s.ai_max_retries))
        worst = s.ai_service_timeout * (s.ai_max_retries + 1) + backoff + LEASE_MARGIN_SECONDS
        return timedelta(seconds=worst)

    async def process_ai_request(self, record_id: str) -> str | None:
        """Run the record to SUCCESS or FAILED; returns the reply, or None when another
        worker holds the record or the call failed."""
        request = await self._claim(record_id)
        if request is None:
            return None
        self._status(request, AIStatus.PROCESSING)
        started = time.perf_counter()
        try:
            reply, attempts = await self._call_with_retries(request)
        except AIFailure as failure:
            await self._fail(request, str(failure), failure.attempts, started)
            return None
        duration_ms = int((time.perf_counter() - started) * 1000)
        async with self.db.write() as session, session.begin():
            stored = await self.messages.append_in_transaction(
                session,
                group_id=request.group_id,
                sender_id=self.assistant_user_id,
                sender_role=UserRole.AI_ASSISTANT,
                content=reply,
                client_msg_id=request.record_id,
            )
            await AIInteractionRepository(session).update_success(
                record_id, stored.message.message_id, reply, duration_ms, attempts
            )
        await self.messages.publish_stored(stored)
        self._status(request, AIStatus.SUCCESS, ai_message_id=stored.message.message_id)
        AI_CALLS.labels(AIStatus.SUCCESS).inc()
        AI_LATENCY.observe(duration_ms / 1000)
        logger.info(
            "ai record %s succeeded in %d ms (%d attempts)", record_id, duration_ms, attempts
        )
        return reply

    async def _claim(self, record_id: str) -> AIRequest | None:
        async with self.db.write() as session, session.begin():
            records = AIInteractionRepository(session)
            if not await records.claim(record_id):
                return None
            record = await records.get_by_id(record_id)
            messages = MessageRepository(session)
            message = await messages.get_by_id(record.user_message_id) if record else None
            if record is None or message is None:
                return None
            rows = await messages.get_history(
                message.group_id, message.seq, self.settings.ai_history_limit
            )
            history = [self._turn(m.from_user_role, name, m.msg_content) for m, name in rows]
            body = {"message": message.msg_content, "history": [t.__dict__ for t in history]}
            await records.set_request(record_id, json.dumps(body, ensure_ascii=False))
        return AIRequest(
            record_id, message.group_id, message.message_id, message.msg_content, history
        )

    @staticmethod
    def _turn(role: str, username: str, content: str) -> Turn:
        if role == UserRole.AI_ASSISTANT:
            return Turn("assistant", content)
        if role == UserRole.DOCTOR:
            return Turn("user", f"[Doctor {username}] {content}")
        return Turn("user", content)

    async def _call_with_retries(self, request: AIRequest) -> tuple[str, int]:
        settings = self.settings
        attempts = 0
        while True:
            attempts += 1
            streamed = False

            def on_delta(delta: str) -> None:
                nonlocal streamed
                streamed = True
                self.events.send_message_to_group(
                    request.group_id,
                    {
                        "type": "ai_reply_delta",
                        "group_id": request.group_id,
                        "record_id": request.record_id,
                        "user_message_id": request.user_message_id,
                        "delta": delta,
                    },
                )

            call_started = time.perf_counter()
            try:
                async with asyncio.timeout(settings.ai_service_timeout):
                    prompt = Prompt(request.message, request.history, settings.ai_system_prompt)
                    reply = await self.provider.complete(prompt, on_delta)
                if len(reply) > settings.ai_max_reply_chars:  # cut, and marked as cut
                    reply = reply[: settings.ai_max_reply_chars - 1] + "…"
            except (RetryableAIError, TimeoutError) as exc:
                error: AIError = (
                    exc if isinstance(exc, RetryableAIError) else RetryableAIError("timed out")
                )
            except PermanentAIError as exc:
                self._log_call(request, attempts, call_started, str(exc))
                raise AIFailure(str(exc), attempts) from exc
            else:
                self._log_call(request, attempts, call_started, "ok")
                return reply, attempts
            self._log_call(request, attempts, call_started, str(error))
            if streamed or attempts > settings.ai_max_retries:
                raise AIFailure(f"{error} (after {attempts} attempts)", attempts) from error
            delay = settings.ai_retry_backoff * 2 ** (attempts - 1)
            if isinstance(error, RetryableAIError) and error.retry_after is not None:
                delay = max(delay, min(error.retry_after, settings.ai_service_timeout))
            await asyncio.sleep(delay)

    def _log_call(self, request: AIRequest, attempt: int, started: float, outcome: str) -> None:
        logger.info(
            "ai call record=%s attempt=%d %.0fms: %s",
            request.record_id,
            attempt,
            (time.perf_counter() - started) * 1000,
            outcome,
        )

    async def _fail(self, request: AIRequest, error: str, attempts: int, started: float) -> None:
        duration_ms = int((time.perf_counter() - started) * 1000)
        async with self.db.write() as session, session.begin():
            await AIInteractionRepository(session).update_failed(
                request.record_id, error, duration_ms, attempts
            )
        self._status(request, AIStatus.FAILED, error=error)
        AI_CALLS.labels(AIStatus.FAILED).inc()
        AI_LATENCY.observe(duration_ms / 1000)
        logger.warning("ai record %s failed after %d attempts", request.record_id, attempts)

    def _status(self, request: AIRequest, status: AIStatus, **extra: str) -> None:
        """`ai_status` to the group; FAILED carries `error`, SUCCESS the reply's message id."""
        event = {
            "type": "ai_status",
            "group_id": request.group_id,
            "record_id": request.record_id,
            "user_message_id": request.user_message_id,
            "status": status.value,
            **extra,
        }
        self.events.send_message_to_group(request.group_id, event)

    async def requeue_unfinished(self) -> list[str]:
        """Records to hand to a worker again: PENDING ones whose dispatch may have been lost,
        PROCESSING ones whose worker died (lease lapsed). Safe to call from every instance."""
        now = utcnow()
        async with self.db.write() as session, session.begin():
            return await AIInteractionRepository(session).requeue_unfinished(
                pending_before=now - timedelta(seconds=PENDING_GRACE_SECONDS),
                stale_before=now - self.lease,
            )
