"""Outbox transitions as changes of the writer's batches (`MessageWriter.apply`): a deliverer's
claims and settlements never open a write transaction of their own, so they never hold the
write path a send needs (on SQLite there is one write lock for the whole database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.webhook_delivery import DeliveryStatus
from app.notifications.outbox import Claimed, WebhookOutbox
from app.services.core.message_writer import Change


@dataclass(frozen=True)
class ClaimDue(Change[list[Claimed]]):
    ids: tuple[int, ...]
    now: datetime
    lease: timedelta

    async def apply(self, session: AsyncSession) -> list[Claimed]:
        return await WebhookOutbox(session).claim(self.ids, self.now, self.lease)


@dataclass(frozen=True)
class Settle(Change[bool]):
    claimed: Claimed
    status: DeliveryStatus
    now: datetime
    next_attempt_at: datetime | None = None
    status_code: int | None = None
    error: str | None = None

    async def apply(self, session: AsyncSession) -> bool:
        return await WebhookOutbox(session).settle(
            self.claimed,
            self.status,
            now=self.now,
            next_attempt_at=self.next_attempt_at,
            status_code=self.status_code,
            error=self.error,
        )


@dataclass(frozen=True)
class Retry(Change[bool | None]):
    delivery_id: str
    now: datetime
    max_age: timedelta

    async def apply(self, session: AsyncSession) -> bool | None:
        return await WebhookOutbox(session).retry(self.delivery_id, self.now, self.max_age)


@dataclass(frozen=True)
class Prune(Change[int]):
    """Delete DELIVERED rows among `ids` (a bounded batch: the write path is shared)."""

    ids: tuple[int, ...]

    async def apply(self, session: AsyncSession) -> int:
        return await WebhookOutbox(session).remove(self.ids)
