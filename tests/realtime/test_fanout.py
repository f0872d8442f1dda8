"""Routed fan-out (app/realtime/fanout.py, routes.py) against a real database: who an event
reaches, routes that follow connections and membership changes (and are rebuilt from the
database after a broker outage), an instance that never hears groups it has no member of (on a
real Redis: its shard subscriptions), a failing broker or socket layer that never stops the
publisher, and a bounded outgoing queue."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from typing import Any

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from app.db.session import Database
from app.models import UserRole
from app.realtime.broker import BrokerUnavailable
from app.realtime.envelope import Envelope
from app.realtime.fanout import Fanout, GroupsOfUsers, NoLocalConnections
from app.realtime.memory import MemoryBroker
from app.realtime.redis import RedisBroker
from app.realtime.routes import group_channel, user_channel
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.repositories.user_repository import UserRepository
from app.utils.id_generator import generate_group_id, generate_user_id


class Recorder:
    """The socket layer, recording what it is asked to deliver."""

    def __init__(self) -> None:
        self.failing = False
        self.deliveries: list[tuple[list[str], dict[str, Any], str | None]] = []
        self._changed = asyncio.Event()

    def deliver(self, user_ids: Iterable[str], text: str, exclude_connection_id: str | None) -> int:
        if self.failing:
            raise RuntimeError("socket layer broke")
        ids = sorted(user_ids)
        if ids:
            self.deliveries.append((ids, json.loads(text), exclude_connection_id))
            self._changed.set()
        return len(ids)

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.deliveries) < count:
                self._changed.clear()
                await self._changed.wait()

    def types(self) -> list[str]:
        return [payload["type"] for _, payload, _ in self.deliveries]


class FlakyBroker(MemoryBroker):
    """Refuses publishes while `down`; `attempts` counts every publish it was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.attempts = 0
        self._attempted = asyncio.Event()

    async def publish_many(self, items: Sequence[tuple[str, Envelope]]) -> None:
        try:
            if self.down:
                raise BrokerUnavailable("broker is down")
            await super().publish_many(items)
        finally:
            self.attempts += 1
            self._attempted.set()

    async def wait_attempts(self, count: int) -> None:
        async with asyncio.timeout(5):
            while self.attempts < count:
                self._attempted.clear()
                await self._attempted.wait()


def groups_of(db: Database) -> GroupsOfUsers:
    async def lookup(user_ids: Collection[str]) -> dict[str, set[str]]:
        async with db.read() as session:
            return await GroupMemberRepository(session).groups_of_users(user_ids)

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
    service = Fanout(broker, recorder, groups_of(db))
    await service.start()
    try:
        yield service, recorder, broker
    finally:
        await service.stop()


async def test_group_and_user_events_reach_the_connected_recipients(
    db: Database, fanout: tuple[Fanout, Recorder, FlakyBroker]
) -> None:
    service, recorder, _ = fanout
    group_id, (a, b, c) = await make_group(db, "a", "b", "c")
    outsider = await add_user(db, (await make_group(db, "other"))[0])
    for user_id in (a, b, c, outsider):
        await service.attach(user_id)
    service.to_group(group_id, {"type": "x", "n": 1})
    service.to_group(group_id, {"type": "x", "n": 2}, exclude_user_id=b)
    service.to_group(
        group_id, {"type": "x", "n": 3}, exclude_connection_id="conn-1", also_user_ids=[outsider]
    )
    service.to_users([c, "nobody-here"], {"type": "u"}, exclude_connection_id="conn-2")
    await recorder.wait_for(5)
    assert recorder.deliveries == [
        (sorted([a, b, c]), {"type": "x", "n": 1}, None),
        (sorted([a, c]), {"type": "x", "n": 2}, None),
        (sorted([a, b, c]), {"type": "x", "n": 3}, "conn-1"),
        ([outsider], {"type": "x", "n": 3}, "conn-1"),
        ([c], {"type": "u"}, "conn-2"),
    ]
    assert service.routes.is_member(a, group_id)
    assert not service.routes.is_member(outsider, group_id)


async def test_only_connected_users_get_events_and_routes_follow_connections(
    db: Database, fanout: tuple[Fanout, Recorder, FlakyBroker]
) -> None:
    service, recorder, _ = fanout
    group_id, (a, b) = await make_group(db, "a", "b")
    await service.attach(a)
    await service.attach(a)  # a second device
    await service.detach(a)
    service.to_group(group_id, {"type": "x", "n": 1})
    await recorder.wait_for(1)
    await service.detach(a)  # the last device: nobody here needs the group any more
    assert service.routes.channels() == set()
    service.to_group(group_id, {"type": "x", "n": 2})
    await service.attach(b)
    service.to_group(group_id, {"type": "x", "n": 3})
    await recorder.wait_for(2)
    assert recorder.deliveries == [
        ([a], {"type": "x", "n": 1}, None),
        ([b], {"type": "x", "n": 3}, None),
    ]


async def test_routes_follow_joins_and_leaves(
    db: Database, fanout: tuple[Fanout, Recorder, FlakyBroker]
) -> None:
    service, recorder, _ = fanout
    group_id, (a,) = await make_group(db, "a")
    newcomer_group, (newcomer,) = await make_group(db, "n")
    await service.attach(a)
    await service.attach(newcomer)
    assert not service.routes.is_member(newcomer, group_id)
    # The join is announced on the newcomer's own channel, so its instance follows it.
    service.to_group(group_id, {"type": "member_joined"}, also_user_ids=[newcomer], joined=newcomer)
    service.to_group(group_id, {"type": "after join"})
    await recorder.wait_for(3)
    assert service.routes.is_member(newcomer, group_id)
    assert recorder.deliveries[-1] == (sorted([a, newcomer]), {"type": "after join"}, None)
    service.to_group(group_id, {"type": "member_left"}, also_user_ids=[newcomer], left=newcomer)
    service.to_group(group_id, {"type": "after leave"})
    await recorder.wait_for(6)
    assert not service.routes.is_member(newcomer, group_id)
    assert recorder.deliveries[-1] == ([a], {"type": "after leave"}, None)
    assert service.routes.is_member(newcomer, newcomer_group)


async def test_routes_are_rebuilt_from_the_database_after_an_outage(
    db: Database, fanout: tuple[Fanout, Recorder, FlakyBroker]
) -> None:
    """A membership envelope lost while the broker was down: the instance reads its users'
    groups afresh when the subscription comes back."""
    service, recorder, _ = fanout
    group_id, (a,) = await make_group(db, "a")
    other_group, (late,) = await make_group(db, "late")
    await service.attach(late)
    async with db.write() as session, session.begin():
        await GroupMemberRepository(session).add_member(group_id, late, UserRole.PATIENT)
    assert not service.routes.is_member(late, group_id)
    await service._resubscribed()
    assert service.routes.is_member(late, group_id) and service.routes.is_member(late, other_group)
    service.to_group(group_id, {"type": "x"})
    await recorder.wait_for(1)
    assert recorder.deliveries == [([late], {"type": "x"}, None)]
    assert a not in service.routes.users()


class GatedGroupsOf:
    """A `GroupsOfUsers` whose reads wait for a gate, fail on demand, and are counted."""

    def __init__(self, db: Database) -> None:
        self.read = groups_of(db)
        self.gate = asyncio.Event()
        self.failing = False
        self.calls = 0

    async def __call__(self, user_ids: Collection[str]) -> dict[str, set[str]]:
        self.calls += 1
        await self.gate.wait()
        if self.failing:
            raise ConnectionError("database down")
        return await self.read(user_ids)


async def test_connections_opening_together_share_one_read_and_wait_for_it(db: Database) -> None:
    group_id, (a,) = await make_group(db, "a")
    reads = GatedGroupsOf(db)
    service = Fanout(MemoryBroker(), Recorder(), reads)
    first = asyncio.create_task(service.attach(a))
    second = asyncio.create_task(service.attach(a))
    await asyncio.sleep(0)
    assert not first.done() and not second.done()  # neither greets before the routes exist
    reads.gate.set()
    await asyncio.gather(first, second)
    assert reads.calls == 1
    assert service.routes.users_in(group_id) == {a}
    await service.attach(a)  # a third device: the routes are known, nothing is read
    assert reads.calls == 1


async def test_a_failed_read_of_the_groups_fails_the_attach_and_the_next_one_reads_again(
    db: Database,
) -> None:
    group_id, (a,) = await make_group(db, "a")
    reads = GatedGroupsOf(db)
    reads.failing = True
    reads.gate.set()
    service = Fanout(MemoryBroker(), Recorder(), reads)
    with pytest.raises(ConnectionError):
        await service.attach(a)
    assert service.routes.users_in(group_id) == set()
    reads.failing = False
    await service.attach(a)  # another device of the user, while the first is closing
    assert service.routes.users_in(group_id) == {a}
    await service.detach(a)
    await service.detach(a)
    await service.detach(a)  # a socket that failed before attaching is released too
    assert service.routes.channels() == set()


async def test_a_failing_broker_or_socket_layer_does_not_stop_fan_out(
    db: Database, fanout: tuple[Fanout, Recorder, FlakyBroker]
) -> None:
    service, recorder, broker = fanout
    group_id, (a,) = await make_group(db, "a")
    await service.attach(a)
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
    assert recorder.types() == ["delivered"]
    assert await service.ping()


async def test_stop_flushes_queued_events(
    db: Database, fanout: tuple[Fanout, Recorder, FlakyBroker]
) -> None:
    service, recorder, _ = fanout
    group_id, (a,) = await make_group(db, "a")
    await service.attach(a)
    for n in range(300):
        service.to_group(group_id, {"type": "x", "n": n})
    await service.stop()
    assert [payload["n"] for _, payload, _ in recorder.deliveries] == list(range(300))
    await service.stop()  # stopping twice is harmless


async def test_the_outgoing_queue_is_bounded(db: Database) -> None:
    """Before the fix the queue grew without bound while the broker lagged; now what does
    not fit is dropped and counted (clients recover it with `sync`)."""
    recorder = Recorder()
    service = Fanout(MemoryBroker(), recorder, groups_of(db), outgoing_limit=3)
    _, (a,) = await make_group(db, "a")
    await service.attach(a)
    before = REGISTRY.get_sample_value("im_fanout_dropped_total") or 0.0
    for n in range(5):  # the publisher is not started: nothing drains the queue
        service.to_users([a], {"type": "x", "n": n})
    assert (REGISTRY.get_sample_value("im_fanout_dropped_total") or 0.0) == before + 2
    await service.start()
    await service.stop()
    assert [payload["n"] for _, payload, _ in recorder.deliveries] == [0, 1, 2]


async def test_a_publish_only_instance_delivers_nothing_locally(db: Database) -> None:
    """A Celery worker publishes without subscribing: nothing comes back to it."""
    recorder = Recorder()
    service = Fanout(MemoryBroker(), recorder, groups_of(db))
    await service.start(subscribe=False)
    service.to_users(["u"], {"type": "x"})
    await service.stop()
    assert recorder.deliveries == []
    assert NoLocalConnections().deliver(["u"], "{}", None) == 0


async def _shard_subscribers(redis: Redis, prefix: str, channel: str) -> int:
    """How many connections listen to the shard channel (`PUBSUB SHARDNUMSUB`)."""
    [(_, count)] = await redis.pubsub_shardnumsub(f"{prefix}:{channel}")
    return int(count)


async def test_an_instance_listens_only_to_its_users_channels(
    db: Database, redis: Redis, prefix: str
) -> None:
    """Two instances on one Redis: each subscribes to the channels of its own users and their
    groups only, so an event of a group none of whose members is connected to an instance
    never reaches it (it costs that instance nothing)."""
    group_a, (alice,) = await make_group(db, "alice")
    group_b, (bob,) = await make_group(db, "bob")
    recorders = Recorder(), Recorder()
    brokers = RedisBroker(_url(redis), prefix), RedisBroker(_url(redis), prefix)
    instances = [Fanout(b, r, groups_of(db)) for b, r in zip(brokers, recorders, strict=True)]
    for instance in instances:
        await instance.start()
    try:
        await instances[0].attach(alice)
        await instances[1].attach(bob)
        assert await _shard_subscribers(redis, prefix, group_channel(group_a)) == 1
        assert await _shard_subscribers(redis, prefix, group_channel(group_b)) == 1
        assert await _shard_subscribers(redis, prefix, user_channel(alice)) == 1
        instances[0].to_group(group_b, {"type": "for bob"})
        instances[1].to_group(group_a, {"type": "for alice"})
        await recorders[0].wait_for(1)
        await recorders[1].wait_for(1)
        assert recorders[0].types() == ["for alice"] and recorders[1].types() == ["for bob"]
        await instances[1].detach(bob)
        assert await _shard_subscribers(redis, prefix, group_channel(group_b)) == 0
        assert await _shard_subscribers(redis, prefix, user_channel(bob)) == 0
    finally:
        for instance in instances:
            await instance.stop()
        for broker in brokers:
            await broker.close()


def _url(redis: Redis) -> str:
    kwargs = redis.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"


def test_envelopes_round_trip_and_refuse_garbage() -> None:
    envelope = Envelope(
        event='{"type":"x"}',
        group_id="g",
        user_ids=("a", "b"),
        exclude_user_id="c",
        exclude_connection_id="conn",
        joined="a",
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


async def test_signals_reach_their_handler_and_never_a_socket(db: Database) -> None:
    recorder = Recorder()
    fanout = Fanout(MemoryBroker(), recorder, groups_of(db))
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
