"""The webhook deliverer: every server instance runs one; they share the outbox.

It claims due rows (a lease, so no two instances send the same row at once), sends each with a
bounded number in flight, and settles it: DELIVERED on a 2xx, else PENDING again after an
exponential back-off (base doubling, capped at an hour, ±20 % jitter so that retries of many
rows spread out), or FAILED once `WEBHOOK_MAX_HOURS` have passed. It wakes when a local commit
stages a row and otherwise polls, which also picks up rows staged by other processes and rows
whose deliverer died (their lease lapses).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from datetime import timedelta

from app.db.base import utcnow
from app.db.session import Database
from app.metrics import WEBHOOK_DELIVERIES, WEBHOOK_LAG
from app.models.webhook_delivery import DeliveryStatus
from app.notifications.outbox import Claimed, WebhookOutbox, due_ids
from app.notifications.sender import WebhookSender
from app.notifications.transitions import ClaimDue, Prune, Settle
from app.services.core.message_writer import MessageWriter

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
GATHER_SECONDS = 0.005
"""After a wake-up, wait this long for more commits, so that a burst costs one claim."""
LEASE_MARGIN = timedelta(seconds=5)
"""A claim outlives the attempt's deadline by this much (time to record the outcome) before
another deliverer presumes this one dead."""
STOP_GRACE_SECONDS = 10.0
PRUNE_EVERY_SECONDS = 600.0
PRUNE_BATCH = 500
MAX_DELAY_SECONDS = 3600.0
JITTER = 0.2


def retry_delay(attempts: int, base: float) -> float:
    """Seconds before the next attempt after `attempts` failed ones."""
    delay: float = min(base * 2.0 ** (attempts - 1), MAX_DELAY_SECONDS)
    return delay * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 - jitter, not crypto


class WebhookDeliverer:
    def __init__(
        self,
        db: Database,
        writer: MessageWriter,
        sender: WebhookSender,
        *,
        concurrency: int,
        retry_base: float,
        retention: timedelta,
    ) -> None:
        """`retention`: how long DELIVERED rows are kept (FAILED ones stay for the admin)."""
        self.db = db
        self.writer = writer
        self.sender = sender
        self.concurrency = concurrency
        self.retry_base = retry_base
        self.retention = retention
        self._pruned_at = float("-inf")
        self.lease = timedelta(seconds=sender.timeout) + LEASE_MARGIN
        self._in_flight: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-deliverer")

    async def stop(self) -> None:
        """Let the loop finish its round (a database driver cancelled mid-query can leave its
        connection unusable), then cancel the attempts in flight: their rows' leases lapse and
        another instance, or this one restarted, sends them again."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            _, late = await asyncio.wait({self._task}, timeout=STOP_GRACE_SECONDS)
            for task in late:
                task.cancel()
        tasks = [t for t in (self._task, *self._in_flight) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.sender.aclose()

    async def _run(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            try:
                await self.claim_and_send()
                if time.monotonic() - self._pruned_at >= PRUNE_EVERY_SECONDS:
                    self._pruned_at = time.monotonic()
                    await self.prune()
            except Exception as exc:  # the database may be down; try again next round
                logger.warning("webhook deliverer: a round failed: %r", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), POLL_SECONDS)
                if not self._stopping:
                    await asyncio.sleep(GATHER_SECONDS)

    async def claim_and_send(self) -> int:
        """Claim as many due rows as there are free slots and start sending them."""
        free = self.concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        now = utcnow()
        async with self.db.reader() as reader:
            ids = await due_ids(reader, now, free)
        claimed = await self.writer.apply(ClaimDue(tuple(ids), now, self.lease)) if ids else []
        for row in claimed:
            task = asyncio.create_task(self._deliver(row), name=f"webhook-{row.delivery_id}")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(claimed)

    async def prune(self) -> int:
        """Delete DELIVERED rows older than the retention, a bounded batch at a time."""
        removed = 0
        before = utcnow() - self.retention
        while True:
            async with self.db.read() as session:
                ids = await WebhookOutbox(session).delivered_before(before, PRUNE_BATCH)
            if not ids:
                break
            removed += await self.writer.apply(Prune(tuple(ids)))
            if len(ids) < PRUNE_BATCH:
                break
        if removed:
            logger.info("pruned %d delivered webhook rows", removed)
        return removed

    async def _deliver(self, claimed: Claimed) -> None:
        try:
            await self._attempt(claimed)
        except Exception:  # the row's lease lapses and it is sent again
            logger.exception("webhook delivery %s could not be settled", claimed.delivery_id)
        finally:
            self.wake()  # a slot is free, and the group's next row may be due

    async def _attempt(self, claimed: Claimed) -> None:
        attempt = await self.sender.send(claimed.delivery_id, claimed.body)
        now = utcnow()
        if attempt.ok:
            settle = Settle(claimed, DeliveryStatus.DELIVERED, now, status_code=attempt.status_code)
            if await self.writer.apply(settle):
                WEBHOOK_DELIVERIES.labels("delivered").inc()
                WEBHOOK_LAG.observe((now - claimed.created_at).total_seconds())
            return
        next_at = now + timedelta(seconds=retry_delay(claimed.attempts, self.retry_base))
        failed = next_at >= claimed.expires_at
        settle = Settle(
            claimed,
            DeliveryStatus.FAILED if failed else DeliveryStatus.PENDING,
            now,
            next_attempt_at=None if failed else next_at,
            status_code=attempt.status_code,
            error=attempt.error,
        )
        if not await self.writer.apply(settle):
            return
        if failed:
            WEBHOOK_DELIVERIES.labels("failed").inc()
            logger.warning(
                "webhook delivery %s failed for good after %d attempts: %s",
                claimed.delivery_id,
                claimed.attempts,
                attempt.error,
            )
        else:
            WEBHOOK_DELIVERIES.labels("retry").inc()
            logger.info(
                "webhook delivery %s attempt %d failed (%s); next at %s",
                claimed.delivery_id,
                claimed.attempts,
                attempt.error,
                next_at.isoformat(),
            )
