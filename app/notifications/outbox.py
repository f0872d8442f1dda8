"""The webhook outbox's rows: staged in a change's transaction, claimed with a lease, settled.

Every transition is one conditional UPDATE (plain SQL on SQLite, PostgreSQL and MySQL/MariaDB):
a claim takes only rows that are PENDING and due, so two deliverers never hold the same row; a
settlement applies only under the claim's token, so a deliverer whose lease lapsed changes
nothing. Order per group: a row is a candidate only when no earlier row of its group is still
PENDING (in flight, or waiting for a retry).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from app.db.base import utcnow
from app.models import WebhookDelivery
from app.models.webhook_delivery import DeliveryStatus
from app.notifications.events import WebhookEvent

PENDING, DELIVERED, FAILED = (
    DeliveryStatus.PENDING,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.FAILED,
)
MAX_ERROR_CHARS = 500


def new_delivery_id() -> str:
    """`msg_…` as the Standard Webhooks examples name ids: time-sortable, unique."""
    millis = int(utcnow().timestamp() * 1000)
    return f"evt_{millis:012x}{secrets.token_hex(10)}"


@dataclass(frozen=True)
class Claimed:
    """A row this deliverer holds until `lease_until`."""

    id: int
    delivery_id: str
    group_id: str
    body: str
    token: str
    created_at: datetime
    expires_at: datetime
    attempts: int


async def due_ids(reader: AsyncConnection, now: datetime, limit: int) -> list[int]:
    """Ids of rows a deliverer may claim now: PENDING, due, and first of their group. Runs on
    a bare connection (`Database.reader`): the deliverer asks after every commit."""
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        earlier.group_id == WebhookDelivery.group_id,
        earlier.status == PENDING,
        earlier.id < WebhookDelivery.id,
    )
    rows = await reader.execute(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            ~blocked,
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    return list(rows.scalars())


class WebhookOutbox:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def stage(self, event: WebhookEvent, *, max_age: timedelta) -> WebhookDelivery:
        now = utcnow()
        row = WebhookDelivery(
            delivery_id=new_delivery_id(),
            event_type=event.type,
            group_id=event.group_id,
            body=event.body(now),
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            expires_at=now + max_age,
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        return row

    async def claim(self, ids: Sequence[int], now: datetime, lease: timedelta) -> list[Claimed]:
        """Take the rows among `ids` that are still PENDING and due, for `lease`."""
        if not ids:
            return []
        token = secrets.token_hex(16)
        await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id.in_(ids),
                WebhookDelivery.status == PENDING,
                WebhookDelivery.next_attempt_at <= now,
            )
            .values(
                claim_token=token,
                next_attempt_at=now + lease,
                attempts=WebhookDelivery.attempts + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        rows = await self.session.execute(
            select(
                WebhookDelivery.id,
                WebhookDelivery.delivery_id,
                WebhookDelivery.group_id,
                WebhookDelivery.body,
                WebhookDelivery.created_at,
                WebhookDelivery.expires_at,
                WebhookDelivery.attempts,
            )
            .where(WebhookDelivery.claim_token == token)
            .order_by(WebhookDelivery.id)
        )
        return [
            Claimed(
                r.id,
                r.delivery_id,
                r.group_id,
                r.body,
                token,
                r.created_at,
                r.expires_at,
                r.attempts,
            )
            for r in rows
        ]

    async def settle(
        self,
        claimed: Claimed,
        status: DeliveryStatus,
        *,
        now: datetime,
        next_attempt_at: datetime | None = None,
        status_code: int | None = None,
        error: str | None = None,
    ) -> bool:
        """DELIVERED, FAILED, or PENDING again until `next_attempt_at`; False if the claim
        was lost (its lease lapsed and another deliverer took the row)."""
        result = await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == claimed.id,
                WebhookDelivery.claim_token == claimed.token,
                WebhookDelivery.status == PENDING,
            )
            .values(
                status=status,
                claim_token=None,
                next_attempt_at=next_attempt_at or now,
                last_status_code=status_code,
                last_error=error[:MAX_ERROR_CHARS] if error else None,
                delivered_at=now if status == DELIVERED else None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def retry(self, delivery_id: str, now: datetime, max_age: timedelta) -> bool | None:
        """Send a delivery again now, with a fresh `WEBHOOK_MAX_HOURS`: None if unknown, False
        while an attempt is in flight."""
        row = await self.session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.delivery_id == delivery_id)
        )
        if row is None:
            return None
        result = await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == row.id,
                ~and_(
                    WebhookDelivery.status == PENDING,
                    WebhookDelivery.claim_token.is_not(None),
                    WebhookDelivery.next_attempt_at > now,
                ),
            )
            .values(
                status=PENDING,
                claim_token=None,
                next_attempt_at=now,
                expires_at=now + max_age,
                delivered_at=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def get(self, delivery_id: str) -> WebhookDelivery | None:
        return await self.session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.delivery_id == delivery_id)
        )

    async def newest(self, status: DeliveryStatus | None, limit: int) -> list[WebhookDelivery]:
        query = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        return list((await self.session.scalars(query)).all())

    async def oldest_pending(self) -> datetime | None:
        oldest: datetime | None = await self.session.scalar(
            select(func.min(WebhookDelivery.created_at)).where(WebhookDelivery.status == PENDING)
        )
        return oldest

    async def delivered_before(self, before: datetime, limit: int) -> list[int]:
        rows = await self.session.execute(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == DELIVERED, WebhookDelivery.delivered_at < before)
            .order_by(WebhookDelivery.id)
            .limit(limit)
        )
        return list(rows.scalars())

    async def remove(self, ids: Sequence[int]) -> int:
        if not ids:
            return 0
        result = await self.session.execute(
            delete(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == DELIVERED)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
