"""Fan-out: events in, the broker across instances, local sockets out.

`to_group` / `to_users` serialise an event once and queue its envelope; one publisher task
hands queued envelopes to the broker in order, in batches. Every instance's `_deliver` (the
broker's handler) resolves the recipients — a group's members come from the member cache —
and gives the text to its local connections. `signal` carries a named instruction with string
arguments the same way, to the handler each instance registered for that name (`on_signal`).
Nothing here blocks a caller: the outgoing queue is bounded, and an envelope that does not fit
is dropped and counted (clients that miss an event recover it with `sync`; the database is the
record, not the broker).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from app.metrics import (
    BROKER_PUBLISH_ERRORS,
    FANOUT_DELIVERIES,
    FANOUT_DROPPED,
    FANOUT_LATENCY,
)
from app.realtime.broker import Broker, BrokerUnavailable
from app.realtime.envelope import Envelope, Event, encode_event
from app.realtime.member_cache import MemberCache

logger = logging.getLogger(__name__)

PUBLISH_BATCH = 256
OUTGOING_LIMIT = 100_000
FLUSH_ON_STOP_SECONDS = 2.0

SignalHandler = Callable[[tuple[str, ...]], Awaitable[None]]


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


class Fanout:
    def __init__(
        self,
        broker: Broker,
        local: LocalDelivery,
        members: MemberCache,
        *,
        outgoing_limit: int = OUTGOING_LIMIT,
    ) -> None:
        self.broker = broker
        self.local = local
        self.members = members
        self._outgoing: asyncio.Queue[Envelope] = asyncio.Queue(maxsize=outgoing_limit)
        self._publisher: asyncio.Task[None] | None = None
        self._signal_handlers: dict[str, SignalHandler] = {}
        self._resubscribe_handlers: list[Callable[[], Awaitable[None]]] = []

    async def start(self, *, subscribe: bool = True) -> None:
        """Start publishing; with `subscribe`, also deliver every instance's envelopes to this
        instance's sockets (a Celery worker only publishes)."""
        if subscribe:
            await self.broker.start(self._deliver, self._resubscribed)
        self._publisher = asyncio.create_task(self._publish_loop(), name="fanout-publisher")

    async def stop(self) -> None:
        """Flush what is queued (best effort), then stop publishing."""
        if self._publisher is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._outgoing.join(), timeout=FLUSH_ON_STOP_SECONDS)
        self._publisher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._publisher
        self._publisher = None

    def to_group(
        self,
        group_id: str,
        event: Event,
        *,
        exclude_user_id: str | None = None,
        exclude_connection_id: str | None = None,
        also_user_ids: Iterable[str] = (),
        invalidate_members: bool = False,
    ) -> None:
        """Every connection of every member of the group (and of `also_user_ids`);
        `invalidate_members` first drops every instance's cached member list of the group."""
        self._enqueue(
            Envelope(
                event=encode_event(event),
                group_id=group_id,
                user_ids=tuple(also_user_ids),
                exclude_user_id=exclude_user_id,
                exclude_connection_id=exclude_connection_id,
                invalidate_members=invalidate_members,
            )
        )

    def to_users(
        self, user_ids: Iterable[str], event: Event, *, exclude_connection_id: str | None = None
    ) -> None:
        """Every connection of the given users."""
        self._enqueue(
            Envelope(
                event=encode_event(event),
                user_ids=tuple(user_ids),
                exclude_connection_id=exclude_connection_id,
            )
        )

    def on_signal(self, name: str, handler: SignalHandler) -> None:
        """Run `handler(args)` on this instance for every `signal(name, args)` of any instance."""
        self._signal_handlers[name] = handler

    def signal(self, name: str, args: Iterable[str]) -> None:
        """Every instance (this one included) runs its handler for `name` with `args`."""
        self._enqueue(Envelope(event="", signal=name, args=tuple(args)))

    def _enqueue(self, envelope: Envelope) -> None:
        try:
            self._outgoing.put_nowait(envelope)
        except asyncio.QueueFull:
            FANOUT_DROPPED.inc()
            logger.warning("fan-out queue full: an event was not pushed")

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

    def on_resubscribed(self, handler: Callable[[], Awaitable[None]]) -> None:
        """Run `handler()` whenever this instance's subscription comes back after an outage:
        the signals published meanwhile are lost, so state they would have changed is stale."""
        self._resubscribe_handlers.append(handler)

    async def _resubscribed(self) -> None:
        # Invalidations published while this instance was cut off are lost: forget every list.
        self.members.clear()
        for handler in self._resubscribe_handlers:
            try:
                await handler()
            except Exception:
                logger.exception("a resubscribe handler failed")

    async def _deliver(self, envelope: Envelope) -> None:
        if envelope.signal is not None:
            await self._run_signal(envelope.signal, envelope.args)
            return
        try:
            if envelope.invalidate_members and envelope.group_id is not None:
                self.members.invalidate(envelope.group_id)
            if not self.local.has_connections():
                return
            delivered = self.local.deliver(
                await self._recipients(envelope), envelope.event, envelope.exclude_connection_id
            )
        except Exception:
            logger.exception("delivery of an event failed")
            return
        if delivered:
            FANOUT_DELIVERIES.inc(delivered)
            FANOUT_LATENCY.observe(max(0.0, time.time() - envelope.published_at))

    async def _run_signal(self, name: str, args: tuple[str, ...]) -> None:
        handler = self._signal_handlers.get(name)
        if handler is None:
            return
        try:
            await handler(args)
        except Exception:
            logger.exception("handler of signal %s failed", name)

    async def _recipients(self, envelope: Envelope) -> Iterable[str]:
        if envelope.group_id is None:
            return envelope.user_ids
        recipients: Iterable[str] = await self.members.members(envelope.group_id)
        if envelope.exclude_user_id is not None:
            recipients = [user_id for user_id in recipients if user_id != envelope.exclude_user_id]
        if envelope.user_ids:
            recipients = set(recipients) | set(envelope.user_ids)
        return recipients

    async def ping(self) -> bool:
        return await self.broker.ping()
