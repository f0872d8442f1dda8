"""Running a claimed copilot record: read the conversation and the doctors it is for, call the
provider with the task's instruction under the AI layer's retry policy, stream the text to
those doctors, and keep the result on the record.

Events, on the doctors' user channels only (a SUMMARY: every DOCTOR member of the group; a
SUGGESTION: the doctor who asked, while still one of them): `ai_copilot_delta` `{group_id,
record_id, kind, delta}` (coalesced like reply deltas), then one `ai_copilot` `{group_id,
record_id, kind, status, content}`: SUCCESS with the text, or FAILED / SKIPPED with `content`
null and an `error`. Every transition is conditional on this worker's claim token, as for
replies: a worker whose lease lapsed changes nothing and emits nothing.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from app.config import Settings
from app.db.session import Database
from app.metrics import AI_CLAIMS_LOST, AI_COPILOT_TASKS
from app.models import AIKind, AIStatus, UserRole
from app.realtime.fanout import Fanout
from app.repositories.ai_interaction_repository import AIInteractionRepository
from app.repositories.group_member_repository import GroupMemberRepository
from app.services.ai.calls import AIFailure, RetryPolicy, call_with_retries
from app.services.ai.copilot.conversation import Conversation, conversation_until
from app.services.ai.deltas import DeltaCoalescer
from app.services.ai.outbox import ClaimedMessage
from app.services.ai.providers import AIProvider, Prompt
from app.services.ai.transitions import Complete, Fail, Skip
from app.services.core.message_writer import MessageWriter

logger = logging.getLogger(__name__)


def instructions(settings: Settings) -> dict[AIKind, str]:
    """Each copilot task's instruction (`AI_SUMMARY_PROMPT`, `AI_SUGGEST_PROMPT`)."""
    return {
        AIKind.SUMMARY: settings.ai_summary_prompt,
        AIKind.SUGGESTION: settings.ai_suggest_prompt,
    }


@dataclass(frozen=True)
class Job:
    claimed: ClaimedMessage
    conversation: Conversation
    recipients: list[str]
    instruction: str

    @property
    def group_id(self) -> str:
        return self.conversation.group_id

    def prompt(self) -> Prompt:
        """The instruction as the system prompt and, for the seed's `http` contract, as the
        `message`, with the conversation as the history."""
        return Prompt(
            self.instruction, self.conversation.turns, self.instruction, self.claimed.kind
        )

    def body(self) -> str:
        """The request as recorded: the seed's `{"message", "history", "kind"}`."""
        prompt = self.prompt()
        payload = {
            "message": prompt.message,
            "history": [t.__dict__ for t in prompt.history],
            "kind": prompt.kind,
        }
        return json.dumps(payload, ensure_ascii=False)


class CopilotTask:
    def __init__(
        self,
        db: Database,
        writer: MessageWriter,
        fanout: Fanout,
        provider: AIProvider,
        settings: Settings,
    ) -> None:
        self.db = db
        self.writer = writer
        self.fanout = fanout
        self.provider = provider
        self.policy = RetryPolicy.from_settings(settings)
        self.history_limit = settings.ai_copilot_history_limit
        self.max_chars = settings.ai_max_reply_chars
        self.instructions = instructions(settings)

    async def answer(self, claimed: ClaimedMessage) -> str | None:
        """Run a claimed copilot record to SUCCESS, FAILED or SKIPPED; returns its text, or
        None when there is none (or another worker took the record over)."""
        started = time.perf_counter()
        job = await self._job(claimed)
        if job is None:  # the record went with its group
            return None
        reason = _nothing_to_do(job)
        if reason is not None:
            if await self.writer.apply(Skip(claimed.record_id, claimed.token, reason)):
                self._finished(job, AIStatus.SKIPPED, error=reason)
            return None
        coalescer = DeltaCoalescer(lambda text: self._send(job, "ai_copilot_delta", delta=text))
        try:
            content, attempts = await call_with_retries(
                self.provider, job.prompt(), self.policy, coalescer.add, record_id=claimed.record_id
            )
        except AIFailure as failure:
            await self._fail(job, str(failure), failure.attempts, started)
            return None
        finally:
            coalescer.flush()
        if len(content) > self.max_chars:
            content = content[: self.max_chars - 1] + "…"
        duration_ms = _since(started)
        done = Complete(
            claimed.record_id, claimed.token, content, job.body(), duration_ms, attempts
        )
        if not await self.writer.apply(done):
            AI_CLAIMS_LOST.inc()
            logger.warning("copilot record %s was taken over; its text is dropped", done.record_id)
            return None
        self._finished(job, AIStatus.SUCCESS, content=content)
        logger.info(
            "copilot %s record %s succeeded in %d ms (%d attempts)",
            claimed.kind,
            claimed.record_id,
            duration_ms,
            attempts,
        )
        return content

    async def _job(self, claimed: ClaimedMessage) -> Job | None:
        async with self.db.read() as session:
            record = await AIInteractionRepository(session).get_by_record_id(claimed.record_id)
            conversation = await conversation_until(session, claimed.message_id, self.history_limit)
            if record is None or conversation is None:
                return None
            members = await GroupMemberRepository(session).get_members_by_group(
                conversation.group_id
            )
        doctors = [m.user_id for m in members if m.user_role == UserRole.DOCTOR]
        if claimed.kind == AIKind.SUGGESTION:
            doctors = [d for d in doctors if d == record.requested_by]
        return Job(claimed, conversation, doctors, self.instructions[claimed.kind])

    async def _fail(self, job: Job, error: str, attempts: int, started: float) -> None:
        claimed = job.claimed
        applied = await self.writer.apply(
            Fail(claimed.record_id, claimed.token, error, job.body(), _since(started), attempts)
        )
        if not applied:
            AI_CLAIMS_LOST.inc()
            logger.warning(
                "copilot record %s was taken over; its failure is dropped", claimed.record_id
            )
            return
        self._finished(job, AIStatus.FAILED, error=error)
        logger.warning("copilot record %s failed after %d attempts", claimed.record_id, attempts)

    def _finished(
        self, job: Job, status: AIStatus, *, content: str | None = None, error: str | None = None
    ) -> None:
        AI_COPILOT_TASKS.labels(job.claimed.kind.value, status.value).inc()
        extra: dict[str, Any] = {"status": status.value, "content": content}
        if error is not None:
            extra["error"] = error
        self._send(job, "ai_copilot", **extra)

    def _send(self, job: Job, event_type: str, **fields: Any) -> None:
        """To the doctors' own channels, on whichever instance they are connected."""
        if not job.recipients:
            return
        event = {
            "type": event_type,
            "group_id": job.group_id,
            "record_id": job.claimed.record_id,
            "kind": job.claimed.kind.value,
            **fields,
        }
        self.fanout.to_users(job.recipients, event)


def _nothing_to_do(job: Job) -> str | None:
    """Why the task has nothing to work on now (its messages were recalled meanwhile)."""
    if job.claimed.kind == AIKind.SUGGESTION:
        if not job.conversation.patient_spoke:
            return "The conversation has no patient message left to answer"
    elif not job.conversation.turns:
        return "The conversation has no messages left to summarise"
    return None


def _since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
