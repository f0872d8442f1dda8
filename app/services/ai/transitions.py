"""AI record transitions as changes of the writer's batches (`MessageWriter.apply`): a claim, a
failure and the sweeper's requeue never open a write transaction of their own, so they never
hold the write path a send needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories.ai_interaction_repository import AIInteractionRepository
from app.services.core.message_writer import Change


@dataclass(frozen=True)
class Claim(Change[bool]):
    record_id: str
    token: str
    lease_until: datetime

    async def apply(self, session: AsyncSession) -> bool:
        return await AIInteractionRepository(session).claim(
            self.record_id, self.token, self.lease_until
        )


class FailureListener(Protocol):
    """Told when a record ends FAILED, inside the transaction that marks it (a layer beside
    the AI, such as notifications, writes its outbox row there; the AI never imports it)."""

    async def on_ai_failed(
        self, session: AsyncSession, group_id: str, record_id: str, error_message: str
    ) -> None: ...


@dataclass(frozen=True)
class Fail(Change[bool]):
    record_id: str
    token: str
    error_message: str
    request_content: str
    duration_ms: int
    attempts: int
    group_id: str = ""
    listeners: tuple[FailureListener, ...] = ()

    async def apply(self, session: AsyncSession) -> bool:
        failed = await AIInteractionRepository(session).fail(
            self.record_id,
            self.token,
            error_message=self.error_message,
            request_content=self.request_content,
            duration_ms=self.duration_ms,
            attempts=self.attempts,
        )
        if failed:
            for listener in self.listeners:
                await listener.on_ai_failed(
                    session, self.group_id, self.record_id, self.error_message
                )
        return failed


@dataclass(frozen=True)
class Complete(Change[bool]):
    """A copilot record's SUCCESS: its text stays on the record (it is never a message)."""

    record_id: str
    token: str
    content: str
    request_content: str
    duration_ms: int
    attempts: int

    async def apply(self, session: AsyncSession) -> bool:
        return await AIInteractionRepository(session).complete(
            self.record_id,
            self.token,
            ai_message_id=None,
            response_content=self.content,
            request_content=self.request_content,
            duration_ms=self.duration_ms,
            attempts=self.attempts,
        )


@dataclass(frozen=True)
class Skip(Change[bool]):
    record_id: str
    token: str
    reason: str

    async def apply(self, session: AsyncSession) -> bool:
        return await AIInteractionRepository(session).skip(
            self.record_id, self.token, reason=self.reason
        )


@dataclass(frozen=True)
class RequeueDue(Change[list[str]]):
    now: datetime
    grace: timedelta

    async def apply(self, session: AsyncSession) -> list[str]:
        return await AIInteractionRepository(session).requeue_due(self.now, self.grace)
