"""Fan-out (app/realtime/fanout.py) with the member cache against a real database: who an event
reaches, the per-instance member cache and its invalidation, that a failing broker or socket
layer never stops the publisher, and that the outgoing queue is bounded."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import pytest
from prometheus_client import REGISTRY

from app.db.session import Database
from app.models import UserRole
from app.realtime.broker import BrokerUnavailable
from app.realtime.envelope import Envelope
from app.realtime.fanout import Fanout, NoLocalConnections
from app.realtime.member_cache import MemberCache
from app.realtime.memory import MemoryBroker
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.repositories.user_repository import UserRepository
from app.utils.id_generator import generate_group_id, generate_user_id


class Recorder:
    """The socket layer, recording what it is asked to deliver."""

    def __init__(self) -> None:
        self.connected = True
        self.failing = False
        self.deliveries: list[tuple[list[str], dict[str, Any], str | None]] = []
        self._changed = asyncio.Event()

    def has_connections(self) -> bool:
        return self.connected

    def deliver(self, user_ids: Iterable[str], text: str, exclude_connection_id: str | None) -> int:
        if self.failing:
            raise RuntimeError("socket layer broke")
        ids = sorted(user_ids)
        self.deliveries.append((ids, json.loads(text), exclude_connection_id))
        self._changed.set()
        return len(ids)

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.deliveries) < count:
                self._changed.clear()
                await self._changed.wait()


class FlakyBroker(MemoryBroker):
    """Refuses publishes while `down`; `attempts` counts every publish it was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.attempts = 0
        self._attempted = asyncio.Event()

    async def publish_many(self, envelopes: Sequence[Envelope]) -> None:
        try:
            if self.down:
                raise BrokerUnavailable("broker is down")
            await super().publish_many(envelopes)
        finally:
            self.attempts += 1
            self._attempted.set()

    async def wait_attempts(self, count: int) -> None:
        async with asyncio.timeout(5):
            while self.attempts < count:
                self._attempted.clear()
                await self._attempted.wait()


def member_lookup(db: Database) -> Any:
    async def lookup(group_id: str) -> list[str]:
        async with db.read() as session:
            return await GroupMemberRepository(session).get_member_ids(group_id)

    return lookup


async def make_group(db: Database, *names: str) -> tuple[str, list[str]]:
    async with db.write() as session, session.begin():
        users = [
            await UserRepository(session).create(generate_user_id(), name, UserRole.PATIENT)
            for name in names
        ]
        group = await GroupRepository(session).create(
            generate_group_id(), "g", None, users[0].user_id
        )
        for user in users:
            await GroupMemberRepository(session).add_member(
                group.group_id, user.user_id, UserRole.PATIENT
            )
    return group.group_id, [user.user_id for user in users]


async def add_user(db: Database, group_id: str) -> str:
    async with db.write() as session, session.begin():
        user = await UserRepository(session).create(generate_user_id(), "late", UserRole.PATIENT)
        await GroupMemberRepository(session).add_member(group_id, user.user_id, UserRole.PATIENT)
    return user.user_id


@pytest.fixture
async def fanout(db: Database) -> AsyncIterator[tuple[Fanout, Recorder, FlakyBroker]]:
    recorder, broker = Recorder(), FlakyBroker()
    service = Fanout(broker, recorder, MemberCache(member_lookup(db)))
    await service.start()
    try:
        yield service, recorder, broker
    finally:
        await service.stop()


async def test_group_and_user_events_reach_the_right_users(
    db: Database, fanout: tuple[Fanout, Recorder, FlakyBroker]
) -> None:
    service, recorder, _ = fanout
    group_id, (a, b, c) = await make_group(db, "a", "b", "c")
    service.to_group(group_id, {"type": "x", "n": 1})
    service.to_group(group_id, {"type": "x", "n": 2}, exclude_user_id=b)
    service.to_group(
        group_id, {"type": "x", "n": 3}, exclude_connection_id="conn-1", also_user_ids=["z"]
    )
    service.to_users([c, "y"], {"type": "u"}, exclude_connection_id="conn-2")
    service.to_users([a], {"type": "solo"})
    await recorder.wait_for(5)
    assert recorder.deliveries == [
        (sorted([a, b, c]), {"type": "x", "n": 1}, None),
        (sorted([a, c]), {"type": "x", "n": 2}, None),
        (sorted([a, b, c, "z"]), {"type": "x", "n": 3}, "conn-1"),
        (sorted([c, "y"]), {"type": "u"}, "conn-2"),
        ([a], {"type": "solo"}, None),
    ]
    assert await service.members.contains(group_id, a)
    assert not await service.members.contains(group_id, "stranger")
    assert await service.members.members("group_unknown") == frozenset()


async def test_member_cache_is_dropped_by_a_membership_change(
    db: Database, fanout: tuple[Fanout, Recorder, FlakyBroker]
) -> None:
    service, recorder, _ = fanout
    group_id, members = await make_group(db, "a", "b")
    assert await service.members.members(group_id) == frozenset(members)
    late = await add_user(db, group_id)
    # Cached: a change made without telling the broker is not seen...
    assert late not in await service.members.members(group_id)
    # ...and the envelope that services send after such a change drops the cache.
    service.to_group(group_id, {"type": "member_joined"}, invalidate_members=True)
    await recorder.wait_for(1)
    assert recorder.deliveries[0][0] == sorted([*members, late])
    assert await service.members.contains(group_id, late)


async def test_membership_change_drops_the_cache_even_without_local_sockets(
    db: Database, fanout: tuple[Fanout, Recorder, FlakyBroker]
) -> None:
    service, recorder, _ = fanout
    group_id, members = await make_group(db, "a")
    await service.members.members(group_id)
    late = await add_user(db, group_id)
    recorder.connected = False
    service.to_group(group_id, {"type": "member_joined"}, invalidate_members=True)
    service.to_group(group_id, {"type": "lost"})
    await service.stop()
    assert recorder.deliveries == []
    assert await service.members.members(group_id) == frozenset([*members, late])


async def test_a_resubscribed_broker_drops_every_cached_list(
    db: Database, fanout: tuple[Fanout, Recorder, FlakyBroker]
) -> None:
    service, _, _ = fanout
    group_id, _ = await make_group(db, "a")
    await service.members.members(group_id)
    late = await add_user(db, group_id)
    await service._resubscribed()
    assert late in await service.members.members(group_id)


async def test_a_failing_broker_or_socket_layer_does_not_stop_fan_out(
    db: Database, fanout: tuple[Fanout, Recorder, FlakyBroker]
) -> None:
    service, recorder, broker = fanout
    group_id, _ = await make_group(db, "a")
    broker.down = True
    service.to_group(group_id, {"type": "dropped"})
    await broker.wait_attempts(1)
    broker.down = False
    recorder.failing = True
    service.to_group(group_id, {"type": "socket-error"})
    await broker.wait_attempts(2)
    recorder.failing = False
    service.to_group(group_id, {"type": "delivered"})
    await recorder.wait_for(1)
    assert [payload["type"] for _, payload, _ in recorder.deliveries] == ["delivered"]
    assert await service.ping()


async def test_stop_flushes_queued_events(
    db: Database, fanout: tuple[Fanout, Recorder, FlakyBroker]
) -> None:
    service, recorder, _ = fanout
    group_id, _ = await make_group(db, "a")
    for n in range(300):
        service.to_group(group_id, {"type": "x", "n": n})
    await service.stop()
    assert [payload["n"] for _, payload, _ in recorder.deliveries] == list(range(300))
    await service.stop()  # stopping twice is harmless


async def test_the_outgoing_queue_is_bounded(db: Database) -> None:
    """Before the fix the queue grew without bound while the broker lagged; now what does
    not fit is dropped and counted (clients recover it with `sync`)."""
    recorder = Recorder()
    service = Fanout(MemoryBroker(), recorder, MemberCache(member_lookup(db)), outgoing_limit=3)
    before = REGISTRY.get_sample_value("im_fanout_dropped_total") or 0.0
    for n in range(5):  # the publisher is not started: nothing drains the queue
        service.to_users(["u"], {"type": "x", "n": n})
    assert (REGISTRY.get_sample_value("im_fanout_dropped_total") or 0.0) == before + 2
    await service.start()
    await service.stop()
    assert [payload["n"] for _, payload, _ in recorder.deliveries] == [0, 1, 2]


async def test_a_publish_only_instance_delivers_nothing_locally(db: Database) -> None:
    """A Celery worker publishes without subscribing: nothing comes back to it."""
    recorder = Recorder()
    service = Fanout(MemoryBroker(), recorder, MemberCache(member_lookup(db)))
    await service.start(subscribe=False)
    service.to_users(["u"], {"type": "x"})
    await service.stop()
    assert recorder.deliveries == []
    socketless = NoLocalConnections()
    assert not socketless.has_connections()
    assert socketless.deliver(["u"], "{}", None) == 0


def test_envelopes_round_trip_and_refuse_garbage() -> None:
    envelope = Envelope(
        event='{"type":"x"}',
        group_id="g",
        user_ids=("a", "b"),
        exclude_user_id="c",
        exclude_connection_id="conn",
        invalidate_members=True,
    )
    assert Envelope.from_json(envelope.to_json()) == envelope
    for garbage in (
        b"not json",
        b"[]",
        b'{"group_id": "g"}',
        b'{"event": 1}',
        b'{"event": "x", "user_ids": [1]}',
    ):
        with pytest.raises(ValueError, match="not an envelope"):
            Envelope.from_json(garbage)


async def test_signals_reach_their_handler_and_never_a_socket() -> None:
    recorder = Recorder()
    fanout = Fanout(MemoryBroker(), recorder, MemberCache(_no_members))
    received: list[tuple[str, ...]] = []
    done = asyncio.Event()

    async def handler(args: tuple[str, ...]) -> None:
        received.append(args)
        done.set()

    fanout.on_signal("session_revoked", handler)
    await fanout.start()
    try:
        fanout.signal("nobody_listens", ["x"])
        fanout.signal("session_revoked", ["sess_a", "sess_b"])
        async with asyncio.timeout(5):
            await done.wait()
        assert received == [("sess_a", "sess_b")]
        assert recorder.deliveries == []
    finally:
        await fanout.stop()


def test_a_signal_survives_the_wire() -> None:
    envelope = Envelope(event="", signal="session_revoked", args=("sess_a",))
    assert Envelope.from_json(envelope.to_json()) == envelope
    assert Envelope.from_json(Envelope(event="{}").to_json()).signal is None


async def _no_members(group_id: str) -> list[str]:
    return []
