"""Processing one AI request: claim the outbox record, build the history, call the provider
under the retry policy, append the reply as the AI assistant's message, and record the outcome.

Events to the group: `ai_status` PROCESSING, `ai_reply_delta` (coalesced) while a provider
streams, the reply `message`, then `ai_status` SUCCESS — or `ai_status` FAILED with the record's
error. Every transition is conditional on this worker's claim token: a worker whose lease
lapsed while another took the record over changes nothing and emits nothing.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from app.config import Settings
from app.db.base import utcnow
from app.db.session import Database
from app.metrics import AI_CALLS, AI_CLAIMS_LOST, AI_LATENCY
from app.models import AIKind, AIStatus, MessageType
from app.realtime.fanout import Fanout
from app.repositories import ai_reads
from app.repositories.ai_interaction_repository import AIInteractionRepository
from app.repositories.ai_reads import Question
from app.services.ai.calls import AIFailure, RetryPolicy, call_with_retries
from app.services.ai.copilot.task import CopilotTask
from app.services.ai.deltas import DeltaCoalescer
from app.services.ai.outbox import DISPATCH_GRACE, ClaimedMessage
from app.services.ai.providers import AIProvider, Prompt, PromptImage, Turn
from app.services.ai.reply import AIReply, ClaimLost, ReplyOutcome
from app.services.ai.transitions import Claim, Fail, FailureListener, RequeueDue, Skip
from app.services.ai.turns import as_turn
from app.services.core.message_writer import MessageWriter

logger = logging.getLogger(__name__)

ImageUrl = Callable[[str], str]
"""attachment_id → an absolute, signed URL of the image (built by the attachments layer)."""
ImageData = Callable[[str, int], Awaitable[bytes | None]]
"""(attachment_id, size) → the image scaled down as JPEG, or None (the attachments layer)."""
INLINE_IMAGE_PROVIDERS = frozenset({"openai", "anthropic", "deepseek"})
LEASE_MARGIN = timedelta(seconds=10)
"""A claim outlives the reply deadline by this much (time to store the reply) before the
sweeper presumes its worker dead."""


@dataclass(frozen=True)
class ClaimedRequest:
    record_id: str
    token: str
    group_id: str
    user_message_id: str
    message: str
    history: list[Turn]
    images: tuple[PromptImage, ...] = ()

    def body(self) -> str:
        """The request as recorded: the seed's `{"message", "history"}`, and the images' names
        and types (never their signed URLs, which are credentials for an hour)."""
        payload: dict[str, object] = {
            "message": self.message,
            "history": [t.__dict__ for t in self.history],
        }
        if self.images:
            payload["attachments"] = [{"name": i.name, "mime": i.mime} for i in self.images]
        return json.dumps(payload, ensure_ascii=False)


@dataclass(frozen=True)
class Context:
    request: ClaimedRequest
    recalled: bool
    assistant: bool
    """The assistant is still a member of the group."""


class AIInteractionService:
    def __init__(
        self,
        db: Database,
        writer: MessageWriter,
        fanout: Fanout,
        provider: AIProvider,
        settings: Settings,
        assistant_user_id: str,
        image_url: ImageUrl | None = None,
        image_data: ImageData | None = None,
    ) -> None:
        self.db = db
        self.writer = writer
        self.fanout = fanout
        self.provider = provider
        self.policy = RetryPolicy.from_settings(settings)
        self.history_limit = settings.ai_history_limit
        self.system_prompt = settings.ai_system_prompt
        self.max_reply_chars = settings.ai_max_reply_chars
        self.assistant_user_id = assistant_user_id
        self.copilot = CopilotTask(db, writer, fanout, provider, settings)
        self.image_url = image_url
        # AI_VISION with an SDK provider: the image itself goes in the request.
        inline = settings.ai_vision and settings.ai_provider in INLINE_IMAGE_PROVIDERS
        self.image_data = image_data if inline else None
        self.failure_listeners: list[FailureListener] = []
        """Told inside the transaction that marks a record FAILED (the wiring adds them)."""

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.policy.deadline) + LEASE_MARGIN

    async def process_ai_request(self, record_id: str) -> str | None:
        """Claim a record handed over by id (PENDING), then `answer` it; None when another
        worker holds it."""
        token = secrets.token_hex(16)
        if not await self.writer.apply(Claim(record_id, token, utcnow() + self.lease)):
            return None
        async with self.db.read() as session:
            found = await AIInteractionRepository(session).message_to_answer(record_id)
        if found is None:  # the record went with its group
            return None
        message_id, kind = found
        return await self.answer(ClaimedMessage(record_id, token, message_id, kind))

    async def answer(self, claimed: ClaimedMessage) -> str | None:
        """Run a record this worker has claimed to SUCCESS or FAILED; returns the reply, or
        None when it could not be produced or stored (or another worker took it over). A
        copilot record (SUMMARY, SUGGESTION) goes to the copilot's task instead."""
        if claimed.kind != AIKind.REPLY:
            return await self.copilot.answer(claimed)
        started = time.perf_counter()
        context = await self._context(claimed)
        if context is None:
            return None
        request = context.request
        if context.recalled:  # the AI never sees a recalled message
            await self.writer.apply(
                Skip(
                    request.record_id,
                    request.token,
                    "The message was recalled before the AI answered",
                )
            )
            logger.info("ai record %s skipped: its message was recalled", request.record_id)
            return None
        if not context.assistant:
            await self._fail(
                request, "The AI assistant is no longer a member of this group", 0, started
            )
            return None
        self._status(request, AIStatus.PROCESSING)
        coalescer = DeltaCoalescer(lambda text: self._delta(request, text))
        try:
            reply, attempts = await call_with_retries(
                self.provider,
                Prompt(request.message, request.history, self.system_prompt, images=request.images),
                self.policy,
                coalescer.add,
                record_id=request.record_id,
            )
        except AIFailure as failure:
            await self._fail(request, str(failure), failure.attempts, started)
            return None
        finally:
            coalescer.flush()
        if len(reply) > self.max_reply_chars:  # a runaway provider cannot flood a group
            reply = reply[: self.max_reply_chars - 1] + "…"
        return await self._store(request, reply, attempts, started)

    async def _context(self, claimed: ClaimedMessage) -> Context | None:
        """The message in its current state (a doctor's prefixed with their name, as in the
        history), the history before it, and whether the assistant is still a member; None
        when the record went with its group."""
        async with self.db.reader() as conn:
            question = await ai_reads.question(conn, claimed.message_id, self.assistant_user_id)
            if question is None:
                return None
            rows = await ai_reads.history(conn, question.group_id, question.seq, self.history_limit)
        history = [as_turn(role, name, content) for role, name, content in rows]
        images = await self._images(question)
        content = question.content or " ".join(f"[{image.name}]" for image in images)
        text = as_turn(question.sender_role, question.sender_name, content).content
        request = ClaimedRequest(
            claimed.record_id,
            claimed.token,
            question.group_id,
            question.message_id,
            text,
            history,
            images,
        )
        return Context(request, recalled=question.recalled, assistant=question.assistant_is_member)

    async def _images(self, question: Question) -> tuple[PromptImage, ...]:
        """An IMAGE message's picture (SPEC §12): an absolute signed URL, and with AI_VISION
        for an SDK provider the image itself, scaled down."""
        attachment = question.attachment
        if question.msg_type != MessageType.IMAGE or attachment is None or self.image_url is None:
            return ()
        attachment_id = str(attachment["attachment_id"])
        jpeg = None
        if self.image_data is not None:
            jpeg = await self.image_data(attachment_id, int(attachment["size"]))
        url = self.image_url(attachment_id)
        return (PromptImage(url, str(attachment["mime"]), str(attachment["name"]), jpeg),)

    async def _store(
        self, request: ClaimedRequest, reply: str, attempts: int, started: float
    ) -> str | None:
        duration_ms = int((time.perf_counter() - started) * 1000)
        append = AIReply(
            record_id=request.record_id,
            token=request.token,
            group_id=request.group_id,
            user_message_id=request.user_message_id,
            assistant_id=self.assistant_user_id,
            outcome=ReplyOutcome(reply, request.body(), duration_ms, attempts),
        )
        try:
            stored = await self.writer.append(append)
            if not stored.created:  # another worker's reply is stored under this record
                raise ClaimLost(request.record_id)
        except ClaimLost:
            AI_CLAIMS_LOST.inc()
            logger.warning("ai record %s was taken over; its reply is dropped", request.record_id)
            return None
        except Exception as exc:
            reason = getattr(exc, "message", None) or f"the reply could not be stored ({exc!r})"
            await self._fail(request, reason, attempts, started)
            return None
        self._status(request, AIStatus.SUCCESS, ai_message_id=stored.message.message_id)
        AI_CALLS.labels(AIStatus.SUCCESS).inc()
        AI_LATENCY.observe(duration_ms / 1000)
        logger.info(
            "ai record %s succeeded in %d ms (%d attempts)",
            request.record_id,
            duration_ms,
            attempts,
        )
        return reply

    async def _fail(
        self, request: ClaimedRequest, error: str, attempts: int, started: float
    ) -> None:
        record_id = request.record_id
        duration_ms = int((time.perf_counter() - started) * 1000)
        applied = await self.writer.apply(
            Fail(
                record_id,
                request.token,
                error,
                request.body(),
                duration_ms,
                attempts,
                request.group_id,
                tuple(self.failure_listeners),
            )
        )
        if not applied:
            AI_CLAIMS_LOST.inc()
            logger.warning("ai record %s was taken over; its failure is dropped", record_id)
            return
        self._status(request, AIStatus.FAILED, error=error)
        AI_CALLS.labels(AIStatus.FAILED).inc()
        AI_LATENCY.observe(duration_ms / 1000)
        logger.warning("ai record %s failed after %d attempts", record_id, attempts)

    def _delta(self, request: ClaimedRequest, text: str) -> None:
        self.fanout.to_group(
            request.group_id,
            {
                "type": "ai_reply_delta",
                "group_id": request.group_id,
                "record_id": request.record_id,
                "user_message_id": request.user_message_id,
                "delta": text,
            },
        )

    def _status(self, request: ClaimedRequest, status: AIStatus, **extra: str) -> None:
        """`ai_status` to the group; FAILED carries `error`, SUCCESS the reply's message id."""
        self.fanout.to_group(
            request.group_id,
            {
                "type": "ai_status",
                "group_id": request.group_id,
                "record_id": request.record_id,
                "user_message_id": request.user_message_id,
                "status": status.value,
                **extra,
            },
        )

    async def requeue_due(self) -> list[str]:
        """Records to hand to a worker again (see `AIInteractionRepository.requeue_due`)."""
        return await self.writer.apply(RequeueDue(utcnow(), DISPATCH_GRACE))
