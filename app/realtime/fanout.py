"""Fan-out: events in, the broker across instances, local sockets out — routed, not broadcast.

`to_group` / `to_users` serialise an event once and queue its envelope for the group's channel
(and the channels of `also_user_ids`) or for each user's channel; one publisher task hands
queued envelopes to the broker in order, in batches. An instance listens only to the channels
of its connected users and of their groups (`LocalRoutes`, kept up to date as sockets open and
close and as members join and leave), so it never hears an event none of whose recipients is
here, and it resolves a group's recipients from its routes without a database read. `signal`
carries a named instruction to every instance (the broadcast channel). Nothing here blocks a
caller: the outgoing queue is bounded, and an envelope that does not fit is dropped and counted
(clients that miss an event recover it with `sync`; the database is the record, not the broker).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Protocol

from app.metrics import (
    BROKER_PUBLISH_BATCHES,
    BROKER_PUBLISH_ERRORS,
    BROKER_PUBLISHED,
    FANOUT_DELIVERIES,
    FANOUT_DROPPED,
    FANOUT_LATENCY,
    FANOUT_RECEIVED,
)
from app.realtime.broker import Broker, BrokerUnavailable
from app.realtime.envelope import Envelope, Event, encode_event
from app.realtime.routes import BROADCAST, LocalRoutes, group_channel, user_channel

logger = logging.getLogger(__name__)

PUBLISH_BATCH = 256
OUTGOING_LIMIT = 100_000
FLUSH_ON_STOP_SECONDS = 2.0

ROUTES_REFRESH_SECONDS = 60.0
"""Every instance reloads its users' groups this often: a membership envelope lost to a broker
outage leaves the routes stale for this long at most."""

SignalHandler = Callable[[tuple[str, ...]], Awaitable[None]]
GroupsOfUsers = Callable[[Collection[str]], Awaitable[dict[str, set[str]]]]
"""The groups of each given user (from the database)."""
Outgoing = tuple[str, Envelope]


class LocalDelivery(Protocol):
    def deliver(self, user_ids: Iterable[str], text: str, exclude_connection_id: str | None) -> int:
        """Queue `text` on every local connection of `user_ids`; returns how many."""


class NoLocalConnections:
    """`LocalDelivery` for processes that hold no sockets (Celery workers)."""

    def deliver(self, user_ids: Iterable[str], text: str, exclude_connection_id: str | None) -> int:
        return 0


class Fanout:
    def __init__(
        self,
        broker: Broker,
        local: LocalDelivery,
        groups_of: GroupsOfUsers,
        *,
        outgoing_limit: int = OUTGOING_LIMIT,
    ) -> None:
        self.broker = broker
        self.local = local
        self.groups_of = groups_of
        self.routes = LocalRoutes()
        self._outgoing: asyncio.Queue[Outgoing] = asyncio.Queue(maxsize=outgoing_limit)
        self._tasks: list[asyncio.Task[None]] = []
        self._signal_handlers: dict[str, SignalHandler] = {}
        self._resubscribe_handlers: list[Callable[[], Awaitable[None]]] = []
        self._loading: dict[str, asyncio.Future[None]] = {}

    async def start(self, *, subscribe: bool = True) -> None:
        """Start publishing; with `subscribe`, also deliver envelopes of this instance's
        channels to its sockets (a Celery worker only publishes)."""
        if subscribe:
            await self.broker.start(self._deliver, self._resubscribed)
            self._tasks.append(asyncio.create_task(self._refresh_forever(), name="routes"))
        self._tasks.append(asyncio.create_task(self._publish_loop(), name="fanout-publisher"))

    async def stop(self) -> None:
        """Flush what is queued (best effort), then stop publishing."""
        if not self._tasks:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._outgoing.join(), timeout=FLUSH_ON_STOP_SECONDS)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def attach(self, user_id: str) -> None:
        """A connection of `user_id` opens here: listen to the user's channel and their
        groups'. Returns once this instance routes the user's group events (the groups are read
        from the database once per user, shared by connections opening together); raises when
        that read fails, and the next connection of the user tries again."""
        self.routes.connect(user_id)
        if self.routes.knows_groups_of(user_id):
            return
        loading = self._loading.get(user_id)
        if loading is None:
            loading = asyncio.ensure_future(self._load_groups(user_id))
            self._loading[user_id] = loading
            loading.add_done_callback(lambda task: self._loaded(user_id, task))
        await asyncio.shield(loading)

    def _loaded(self, user_id: str, task: asyncio.Future[None]) -> None:
        del self._loading[user_id]
        # Retrieved here too: the attaching sockets may have given up waiting for it.
        if not task.cancelled() and task.exception() is not None:
            logger.warning("groups of %s not read: %r", user_id, task.exception())

    async def _load_groups(self, user_id: str) -> None:
        # The user's channel first: a join committed after the read below still reaches us.
        await self.broker.subscribe([user_channel(user_id)])
        groups = (await self.groups_of([user_id])).get(user_id, set())
        await self._resubscribe(*self.routes.set_groups(user_id, groups))

    async def detach(self, user_id: str) -> None:
        """A connection of `user_id` closed: stop listening to what nobody here needs."""
        await self.broker.unsubscribe(self.routes.disconnect(user_id))

    def to_group(
        self,
        group_id: str,
        event: Event,
        *,
        exclude_user_id: str | None = None,
        exclude_connection_id: str | None = None,
        also_user_ids: Iterable[str] = (),
        joined: str | None = None,
        left: str | None = None,
    ) -> None:
        """Every connection of every member of the group (and of `also_user_ids`, who get it
        on their own channel). `joined` / `left`: the user whose membership this announces."""
        envelope = Envelope(
            event=encode_event(event),
            group_id=group_id,
            user_ids=tuple(also_user_ids),
            exclude_user_id=exclude_user_id,
            exclude_connection_id=exclude_connection_id,
            joined=joined,
            left=left,
        )
        self._enqueue(group_channel(group_id), envelope)
        for user_id in envelope.user_ids:
            self._enqueue(user_channel(user_id), envelope)

    def to_users(
        self, user_ids: Iterable[str], event: Event, *, exclude_connection_id: str | None = None
    ) -> None:
        """Every connection of the given users."""
        envelope = Envelope(event=encode_event(event), exclude_connection_id=exclude_connection_id)
        for user_id in user_ids:
            self._enqueue(user_channel(user_id), envelope)

    def on_signal(self, name: str, handler: SignalHandler) -> None:
        """Run `handler(args)` on this instance for every `signal(name, args)` of any instance."""
        self._signal_handlers[name] = handler

    def signal(self, name: str, args: Iterable[str]) -> None:
        """Every instance (this one included) runs its handler for `name` with `args`."""
        self._enqueue(BROADCAST, Envelope(event="", signal=name, args=tuple(args)))

    def _enqueue(self, channel: str, envelope: Envelope) -> None:
        try:
            self._outgoing.put_nowait((channel, envelope))
        except asyncio.QueueFull:
            FANOUT_DROPPED.inc()
            logger.warning("fan-out queue full: an event was not pushed")

    async def _publish_loop(self) -> None:
        while True:
            batch = [await self._outgoing.get()]
            while len(batch) < PUBLISH_BATCH and not self._outgoing.empty():
                batch.append(self._outgoing.get_nowait())
            BROKER_PUBLISH_BATCHES.inc()
            BROKER_PUBLISHED.inc(len(batch))
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
        # Membership envelopes published while this instance was cut off are lost.
        await self._refresh_routes()
        for handler in self._resubscribe_handlers:
            try:
                await handler()
            except Exception:
                logger.exception("a resubscribe handler failed")

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(ROUTES_REFRESH_SECONDS)
            try:
                await self._refresh_routes()
            except Exception as exc:  # the database may be down; next round
                logger.warning("routes refresh failed: %r", exc)

    async def _refresh_routes(self) -> None:
        """Read the groups of every connected user afresh and follow the differences."""
        users = self.routes.users()
        if not users:
            return
        groups = await self.groups_of(users)
        for user_id in users:
            await self._resubscribe(*self.routes.set_groups(user_id, groups.get(user_id, set())))

    async def _resubscribe(self, added: Collection[str], removed: Collection[str]) -> None:
        if added:
            await self.broker.subscribe(added)
        if removed:
            await self.broker.unsubscribe(removed)

    async def _deliver(self, channel: str, envelope: Envelope) -> None:
        FANOUT_RECEIVED.inc()
        if envelope.signal is not None:
            await self._run_signal(envelope.signal, envelope.args)
            return
        try:
            recipients = await self._recipients(channel, envelope)
            delivered = self.local.deliver(
                recipients, envelope.event, envelope.exclude_connection_id
            )
        except Exception:
            logger.exception("delivery of an event failed")
            return
        if delivered:
            FANOUT_DELIVERIES.inc(delivered)
            FANOUT_LATENCY.observe(max(0.0, time.time() - envelope.published_at))

    async def _recipients(self, channel: str, envelope: Envelope) -> Collection[str]:
        kind, _, name = channel.partition(":")
        if kind == "g":  # the group's members here, but those that get it on their own channel
            users = self.routes.users_in(name)
            skip = {envelope.exclude_user_id, *envelope.user_ids}
            return [user_id for user_id in users if user_id not in skip]
        if kind != "u":
            return ()
        group_id = envelope.group_id
        if group_id is not None and envelope.joined == name:
            joined = self.routes.join(name, group_id)
            await self._resubscribe([joined] if joined else [], [])
        elif group_id is not None and envelope.left == name:
            dropped = self.routes.leave(name, group_id)
            await self._resubscribe([], [dropped] if dropped else [])
        return (name,) if self.routes.is_connected(name) else ()

    async def _run_signal(self, name: str, args: tuple[str, ...]) -> None:
        handler = self._signal_handlers.get(name)
        if handler is None:
            return
        try:
            await handler(args)
        except Exception:
            logger.exception("handler of signal %s failed", name)

    async def ping(self) -> bool:
        return await self.broker.ping()
