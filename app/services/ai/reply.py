"""The AI's reply as an append to the group's log: the reply message and the record's SUCCESS
commit together, and only if the worker still holds the record's claim — so a reply is posted
once even when a lapsed lease let another worker take the record — and the question was not
recalled meanwhile."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from app.models import Message, MessageType, UserRole
from app.repositories import ai_reads
from app.repositories.ai_interaction_repository import AIInteractionRepository
from app.services.core.message_writer import Append, BatchFacts, Draft, Key


class ClaimLost(Exception):
    """Another worker took the record (this worker's lease lapsed): its result is not stored."""


@dataclass(frozen=True)
class ReplyOutcome:
    content: str
    request_content: str
    duration_ms: int
    attempts: int


class AIReply(Append):
    def __init__(
        self,
        *,
        record_id: str,
        token: str,
        group_id: str,
        user_message_id: str,
        assistant_id: str,
        outcome: ReplyOutcome,
    ) -> None:
        self.record_id = record_id
        self.token = token
        self.group_id = group_id
        self.user_message_id = user_message_id
        self.assistant_id = assistant_id
        self.outcome = outcome

    def membership_key(self) -> Key:
        return (self.group_id, self.assistant_id)

    def idempotency_key(self) -> Key:
        return (self.assistant_id, self.record_id)

    async def draft(self, session: AsyncSession, facts: BatchFacts) -> Draft:
        if self.membership_key() not in facts.roles:
            raise Conflict(
                "The AI assistant is no longer a member of this group", code="AI_NOT_A_MEMBER"
            )
        if await ai_reads.is_recalled(session, self.user_message_id) is not False:
            # Recalled while the AI was answering (or gone with its group): the answer would
            # repeat what was taken back.
            raise Conflict(
                "The message was recalled while the AI answered", code="MESSAGE_RECALLED"
            )
        return Draft(
            self.assistant_id,
            UserRole.AI_ASSISTANT,
            MessageType.TEXT,
            self.outcome.content,
            client_msg_id=self.record_id,
        )

    async def after_insert(self, session: AsyncSession, message: Message) -> None:
        outcome = self.outcome
        if not await AIInteractionRepository(session).complete(
            self.record_id,
            self.token,
            ai_message_id=message.message_id,
            response_content=outcome.content,
            request_content=outcome.request_content,
            duration_ms=outcome.duration_ms,
            attempts=outcome.attempts,
        ):
            raise ClaimLost(self.record_id)
