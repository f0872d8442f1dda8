"""Real-time fan-out: events in, broker across instances, local sockets out.

`send_message_to_group` / `send_message_to_user` serialise an event once and queue it; one
publisher task hands queued envelopes to the broker in order, in batches. Every instance's
`dispatch` (the broker's handler) resolves the group's members from a per-instance cache and
gives the text to the local connections through `LocalDelivery`. Nothing here blocks a sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Protocol

import orjson

from app.broker.base import RESUBSCRIBED, Broker, BrokerUnavailable, Envelope
from app.db.session import Database
from app.metrics import BROKER_PUBLISH_ERRORS, FANOUT_DELIVERIES, FANOUT_LATENCY
from app.repositories.group_member_repository import GroupMemberRepository
from app.services.core.events import Event

logger = logging.getLogger(__name__)

MEMBER_CACHE_SIZE = 50_000
MEMBER_CACHE_SECONDS = 10.0
"""Bound on how stale a cached member list may be if an invalidation was lost (broker down)."""
PUBLISH_BATCH = 256


class LocalDelivery(Protocol):
    def has_connections(self) -> bool: ...

    def deliver(self, user_ids: Iterable[str], text: str, exclude_connection_id: str | None) -> int:
        """Queue `text` on every local connection of `user_ids`; returns how many."""


class NoLocalConnections:
    """`LocalDelivery` for processes that hold no sockets (Celery workers)."""

    def has_connections(self) -> bool:
        return False

    def deliver(self, user_ids: Iterable[str], text: str, exclude_connection_id: str | None) -> int:
        return 0


class RealtimeService:
    def __init__(self, db: Database, broker: Broker, local: LocalDelivery) -> None:
        self.db = db
        self.broker = broker
        self.local = local
        self._members: OrderedDict[str, tuple[float, frozenset[str]]] = OrderedDict()
        self._invalidations = 0
        self._outgoing: asyncio.Queue[Envelope] = asyncio.Queue()
        self._publisher: asyncio.Task[None] | None = None

    async def start(self, *, subscribe: bool = True) -> None:
        """Start publishing; with `subscribe`, also deliver the broker's events locally (a
        Celery worker only publishes)."""
        if subscribe:
            await self.broker.start(self.dispatch)
        self._publisher = asyncio.create_task(self._publish_loop(), name="realtime-publisher")

    async def stop(self) -> None:
        """Flush what is queued (best effort), then stop publishing."""
        if self._publisher is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._outgoing.join(), timeout=2)
        self._publisher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._publisher
        self._publisher = None

    def send_message_to_group(
        self,
        group_id: str,
        message: Event,
        exclude_user_id: str | None = None,
        *,
        exclude_connection_id: str | None = None,
        also_user_ids: Iterable[str] = (),
        membership_changed: bool = False,
    ) -> None:
        self._enqueue(
            {
                "k": "g",
                "g": group_id,
                "xu": exclude_user_id,
                "xc": exclude_connection_id,
                "au": list(also_user_ids),
                "inv": membership_changed,
                "p": orjson.dumps(message, option=orjson.OPT_UTC_Z).decode(),
            }
        )

    def send_message_to_user(self, user_id: str, message: Event) -> None:
        self.send_message_to_users([user_id], message)

    def send_message_to_users(
        self, user_ids: Iterable[str], message: Event, *, exclude_connection_id: str | None = None
    ) -> None:
        self._enqueue(
            {
                "k": "u",
                "u": list(user_ids),
                "xc": exclude_connection_id,
                "p": orjson.dumps(message, option=orjson.OPT_UTC_Z).decode(),
            }
        )

    def _enqueue(self, envelope: Envelope) -> None:
        envelope["ts"] = time.time()
        self._outgoing.put_nowait(envelope)

    async def _publish_loop(self) -> None:
        while True:
            batch = [await self._outgoing.get()]
            while len(batch) < PUBLISH_BATCH and not self._outgoing.empty():
                batch.append(self._outgoing.get_nowait())
            try:
                await self.broker.publish_many(batch)
            except BrokerUnavailable as exc:
                # Committed messages stay in the database; clients recover them with `sync`.
                BROKER_PUBLISH_ERRORS.inc(len(batch))
                logger.warning("broker publish failed, %d events not pushed: %s", len(batch), exc)
            except Exception:
                logger.exception("fan-out of %d events failed", len(batch))
            finally:
                for _ in batch:
                    self._outgoing.task_done()

    async def dispatch(self, envelope: Envelope) -> None:
        """Deliver one envelope to this instance's connections (the broker's handler)."""
        try:
            await self._dispatch(envelope)
        except Exception:
            logger.exception("dispatch of an event failed")

    async def _dispatch(self, envelope: dict[str, Any]) -> None:
        if envelope.get("k") == RESUBSCRIBED:
            # Invalidations published while we were cut off are lost: forget every list.
            self._members.clear()
            self._invalidations += 1
            return
        if envelope.get("k") == "g" and envelope.get("inv"):
            self._members.pop(envelope["g"], None)
            self._invalidations += 1
        if not self.local.has_connections():
            return
        if envelope.get("k") == "g":
            recipients: Iterable[str] = await self.members_of(envelope["g"])
            exclude_user = envelope.get("xu")
            if exclude_user is not None:
                recipients = [user_id for user_id in recipients if user_id != exclude_user]
            if envelope.get("au"):
                recipients = set(recipients) | set(envelope["au"])
        else:
            recipients = envelope.get("u", [])
        delivered = self.local.deliver(recipients, envelope["p"], envelope.get("xc"))
        if delivered:
            FANOUT_DELIVERIES.inc(delivered)
            FANOUT_LATENCY.observe(max(0.0, time.time() - float(envelope.get("ts", time.time()))))

    async def members_of(self, group_id: str) -> frozenset[str]:
        """The group's member ids, from this instance's cache (invalidated via the broker)."""
        cached = self._members.get(group_id)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            self._members.move_to_end(group_id)
            return cached[1]
        generation = self._invalidations
        async with self.db.read() as session:
            members = frozenset(await GroupMemberRepository(session).get_member_ids(group_id))
        # A read that overlapped an invalidation may be stale: use it once, don't cache it.
        if generation == self._invalidations:
            self._members[group_id] = (now + MEMBER_CACHE_SECONDS, members)
            self._members.move_to_end(group_id)
            if len(self._members) > MEMBER_CACHE_SIZE:
                self._members.popitem(last=False)
        return members

    async def is_member(self, group_id: str, user_id: str) -> bool:
        return user_id in await self.members_of(group_id)

    async def broker_ok(self) -> bool:
        return await self.broker.ping()
