"""Web Push to browsers (RFC 8030/8291 with VAPID, through pywebpush's async API).

A notice names who to tell about one message; the pusher reads the group's name, the sender's
name and the recipients' subscriptions after the commit, then sends each subscription one
encrypted push with a bounded number in flight. The payload never holds the message text (push
services are third parties; patients' words are health data). A subscription the push service
answers 404/410 for is gone and is deleted. Notices wait in a bounded queue: when it is full a
notice is dropped and counted, so a slow push service never holds memory or a send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async
from sqlalchemy import select

from app.db.session import Database
from app.metrics import PUSH_SENT
from app.models import Group, User
from app.notifications.subscriptions import PushSubscriptionRepository, Subscription
from app.services.core.message_writer import Change, MessageWriter

logger = logging.getLogger(__name__)

QUEUE_SIZE = 1000
PUSH_TIMEOUT_SECONDS = 10.0
TTL_SECONDS = 24 * 3600
"""How long a push service keeps a notice for a device that is off."""
GONE = frozenset({404, 410})
STOP_GRACE_SECONDS = PUSH_TIMEOUT_SECONDS + 5


@dataclass(frozen=True)
class PushNotice:
    group_id: str
    seq: int
    sender_id: str
    recipients: Mapping[str, bool]
    """user_id → whether the message mentions them."""


@dataclass(frozen=True)
class Unsubscribe(Change[bool]):
    endpoint: str

    async def apply(self, session: Any) -> bool:
        return await PushSubscriptionRepository(session).remove(self.endpoint)


def payload(notice: PushNotice, group_name: str, sender_name: str, mentioned: bool) -> bytes:
    """What the service worker shows: who wrote in which group, never what."""
    return orjson.dumps(
        {
            "type": "message",
            "group_id": notice.group_id,
            "group_name": group_name,
            "sender_name": sender_name,
            "seq": notice.seq,
            "mentioned": mentioned,
        }
    )


class Pusher:
    def __init__(
        self,
        db: Database,
        writer: MessageWriter,
        vapid: Vapid,
        *,
        contact: str,
        concurrency: int,
    ) -> None:
        self.db = db
        self.writer = writer
        self.vapid = vapid
        self.contact = contact
        self.concurrency = concurrency
        self._queue: asyncio.Queue[PushNotice | None] = asyncio.Queue(QUEUE_SIZE)
        self._workers: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=PUSH_TIMEOUT_SECONDS)
        )
        self._workers = [
            asyncio.create_task(self._work(), name=f"web-push-{n}") for n in range(self.concurrency)
        ]

    async def stop(self) -> None:
        """Drop the notices still queued, let each worker finish the one in hand (a database
        driver cancelled mid-query can leave its connection unusable), then stop them."""
        while not self._queue.empty():
            self._queue.get_nowait()
        for _ in self._workers:
            self._queue.put_nowait(None)
        if self._workers:
            _, late = await asyncio.wait(self._workers, timeout=STOP_GRACE_SECONDS)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._session is not None:
            await self._session.close()

    def notify(self, notice: PushNotice) -> None:
        try:
            self._queue.put_nowait(notice)
        except asyncio.QueueFull:
            PUSH_SENT.labels("dropped").inc()
            logger.warning("web push queue full: notice for %s dropped", notice.group_id)

    async def _work(self) -> None:
        while True:
            notice = await self._queue.get()
            if notice is None:  # stopping
                return
            try:
                await self.deliver(notice)
            except Exception:
                logger.exception("web push for group %s failed", notice.group_id)

    async def deliver(self, notice: PushNotice) -> int:
        """Push one notice to every subscription of its recipients; returns how many went."""
        # One short read each: a read transaction never holds one table while it waits for
        # another (PostgreSQL could find a deadlock with a TRUNCATE or a schema change).
        async with self.db.read() as session:
            subscriptions = await PushSubscriptionRepository(session).of_users(notice.recipients)
        if not subscriptions:
            return 0
        async with self.db.read() as session:
            group_name = await session.scalar(
                select(Group.group_name).where(Group.group_id == notice.group_id)
            )
        async with self.db.read() as session:
            sender_name = await session.scalar(
                select(User.username).where(User.user_id == notice.sender_id)
            )
        sent = 0
        for user_id, owned in subscriptions.items():
            data = payload(notice, group_name or "", sender_name or "", notice.recipients[user_id])
            for subscription in owned:
                sent += await self._send(subscription, data)
        return sent

    async def _send(self, subscription: Subscription, data: bytes) -> int:
        try:
            await webpush_async(
                subscription.info(),
                data=data.decode(),
                vapid_private_key=self.vapid,
                vapid_claims={"sub": self.contact},
                ttl=TTL_SECONDS,
                aiohttp_session=self._session,
            )
        except WebPushException as exc:
            status = exc.status_code
            if status in GONE:
                await self.writer.apply(Unsubscribe(subscription.endpoint))
                PUSH_SENT.labels("gone").inc()
                logger.info("push subscription gone (%s): deleted", status)
                return 0
            PUSH_SENT.labels("failed").inc()
            logger.warning("web push refused: %s", status)
            return 0
        except (aiohttp.ClientError, TimeoutError) as exc:
            PUSH_SENT.labels("failed").inc()
            logger.warning("web push failed: %r", exc)
            return 0
        PUSH_SENT.labels("sent").inc()
        return 1
