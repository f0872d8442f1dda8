"""The webhook outbox's transitions on every backend: one claim wins a row, a group's later
rows wait for its earlier ones, a lapsed lease lets another deliverer take the row over (and
the first one's settlement is then refused), and the back-off schedule."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import update

from app.db.base import utcnow
from app.db.session import Database
from app.models import WebhookDelivery
from app.models.webhook_delivery import DeliveryStatus
from app.notifications.deliverer import MAX_DELAY_SECONDS, WebhookDeliverer, retry_delay
from app.notifications.events import ai_failed_event
from app.notifications.outbox import Claimed, WebhookOutbox, due_ids
from app.notifications.sender import WebhookSender
from app.realtime.fanout import Fanout, NoLocalConnections
from app.realtime.memory import MemoryBroker
from app.services.core.hooks import Hooks
from app.services.core.message_writer import MessageWriter
from tests.notifications.receivers import WEBHOOK_SECRET

DAY = timedelta(days=1)
LEASE = timedelta(seconds=30)


async def stage(db: Database, *group_ids: str) -> list[int]:
    async with db.write() as session, session.begin():
        outbox = WebhookOutbox(session)
        rows = [
            outbox.stage(ai_failed_event(g, f"record_{n}", "x"), max_age=DAY)
            for n, g in enumerate(group_ids)
        ]
        await session.flush()
        return [row.id for row in rows]


async def due(db: Database, at: timedelta = timedelta(0)) -> list[int]:
    async with db.reader() as reader:
        return await due_ids(reader, utcnow() + at, 100)


async def claim(db: Database, ids: list[int], at: timedelta = timedelta(0)) -> list[Claimed]:
    async with db.write() as session, session.begin():
        return await WebhookOutbox(session).claim(ids, utcnow() + at, LEASE)


async def settle(
    db: Database,
    claimed: Claimed,
    status: DeliveryStatus,
    *,
    next_attempt_at: datetime | None = None,
    status_code: int | None = None,
    error: str | None = None,
) -> bool:
    async with db.write() as session, session.begin():
        return await WebhookOutbox(session).settle(
            claimed,
            status,
            now=utcnow(),
            next_attempt_at=next_attempt_at,
            status_code=status_code,
            error=error,
        )


async def test_one_claim_wins_each_row(db: Database) -> None:
    ids = await stage(db, "group_a", "group_b", "group_c")
    results = await asyncio.gather(*(claim(db, ids) for _ in range(4)))
    won = [c.id for result in results for c in result]
    assert sorted(won) == ids, "every row claimed exactly once"
    assert await due(db) == [], "claimed rows are leased"


async def test_a_groups_later_rows_wait_for_its_earlier_ones(db: Database) -> None:
    a1, a2, b1 = await stage(db, "group_a", "group_a", "group_b")
    assert await due(db) == [a1, b1]
    [held] = await claim(db, [a1])
    assert await due(db) == [b1], "in flight: the group waits"
    later = utcnow() + timedelta(minutes=5)
    assert await settle(db, held, DeliveryStatus.PENDING, next_attempt_at=later, error="500")
    assert await due(db) == [b1], "waiting for a retry: the group still waits"
    [again] = await claim(db, [a1], at=timedelta(minutes=6))
    assert again.attempts == 2
    assert await settle(db, again, DeliveryStatus.FAILED, error="gone")
    assert await due(db) == [a2, b1], "a failed row no longer holds its group back"


async def test_a_lapsed_lease_is_taken_over_and_the_old_claim_is_refused(db: Database) -> None:
    [row] = await stage(db, "group_a")
    [first] = await claim(db, [row])
    assert await claim(db, [row]) == []
    [second] = await claim(db, [row], at=LEASE + timedelta(seconds=1))
    assert second.token != first.token
    assert not await settle(db, first, DeliveryStatus.DELIVERED), "the first claim is void"
    assert await settle(db, second, DeliveryStatus.DELIVERED, status_code=204)
    async with db.read() as session:
        [stored] = await WebhookOutbox(session).newest(DeliveryStatus.DELIVERED, 10)
    assert (stored.attempts, stored.last_status_code) == (2, 204)
    assert stored.delivered_at is not None and stored.claim_token is None


def test_back_off_doubles_from_the_base_with_jitter_and_caps_at_an_hour() -> None:
    for attempts, base in ((1, 5.0), (2, 10.0), (3, 20.0), (10, 2560.0)):
        delays = [retry_delay(attempts, 5.0) for _ in range(200)]
        assert all(0.8 * base <= d <= 1.2 * base for d in delays)
        assert max(delays) - min(delays) > 0.05 * base, "jitter spreads retries"
    assert max(retry_delay(40, 5.0) for _ in range(200)) <= MAX_DELAY_SECONDS * 1.2


async def test_delivered_rows_are_pruned_after_the_retention_and_failed_ones_kept(
    db: Database,
) -> None:
    old, recent, failed, pending = await stage(db, "group_a", "group_b", "group_c", "group_d")
    claimed = await claim(db, [old, recent, failed])
    outcome = {old: DeliveryStatus.DELIVERED, recent: DeliveryStatus.DELIVERED}
    for row in claimed:
        await settle(db, row, outcome.get(row.id, DeliveryStatus.FAILED))
    async with db.write() as session, session.begin():
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_([old, failed]))
            .values(delivered_at=utcnow() - timedelta(days=8), updated_at=utcnow())
        )
    hooks = Hooks()
    writer = MessageWriter(db, Fanout(MemoryBroker(), NoLocalConnections(), _no_groups), hooks)
    deliverer = WebhookDeliverer(
        db,
        writer,
        WebhookSender("http://127.0.0.1:9/", WEBHOOK_SECRET, 1.0),
        concurrency=1,
        retry_base=1.0,
        retention=timedelta(days=7),
    )
    try:
        assert await deliverer.prune() == 1
        assert await deliverer.prune() == 0
    finally:
        await deliverer.stop()
        await writer.stop()
    async with db.read() as session:
        left = {row.id for row in await WebhookOutbox(session).newest(None, 10)}
    assert left == {recent, failed, pending}


async def _no_groups(user_ids: Collection[str]) -> dict[str, set[str]]:
    return {}
