"""The fan-out service (app/services/core/websocket_service.py) against a real database: who an
event reaches, the per-instance member cache and its invalidation, and that a failing broker or
socket layer never stops the publisher."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import pytest

from app.broker.base import BrokerUnavailable, Envelope
from app.broker.memory import MemoryBroker
from app.db.session import Database
from app.models import UserRole
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.repositories.user_repository import UserRepository
from app.services.core.websocket_service import NoLocalConnections, RealtimeService
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
    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def publish_many(self, envelopes: Sequence[Envelope]) -> None:
        if self.down:
            raise BrokerUnavailable("broker is down")
        await super().publish_many(envelopes)


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
async def realtime(db: Database) -> AsyncIterator[tuple[RealtimeService, Recorder, FlakyBroker]]:
    recorder, broker = Recorder(), FlakyBroker()
    service = RealtimeService(db, broker, recorder)
    await service.start()
    try:
        yield service, recorder, broker
    finally:
        await service.stop()


async def test_group_and_user_events_reach_the_right_users(
    db: Database, realtime: tuple[RealtimeService, Recorder, FlakyBroker]
) -> None:
    service, recorder, _ = realtime
    group_id, (a, b, c) = await make_group(db, "a", "b", "c")
    service.send_message_to_group(group_id, {"type": "x", "n": 1})
    service.send_message_to_group(group_id, {"type": "x", "n": 2}, exclude_user_id=b)
    service.send_message_to_group(
        group_id, {"type": "x", "n": 3}, exclude_connection_id="conn-1", also_user_ids=["z"]
    )
    service.send_message_to_users([c, "y"], {"type": "u"}, exclude_connection_id="conn-2")
    service.send_message_to_user(a, {"type": "solo"})
    await recorder.wait_for(5)
    assert recorder.deliveries == [
        (sorted([a, b, c]), {"type": "x", "n": 1}, None),
        (sorted([a, c]), {"type": "x", "n": 2}, None),
        (sorted([a, b, c, "z"]), {"type": "x", "n": 3}, "conn-1"),
        (sorted([c, "y"]), {"type": "u"}, "conn-2"),
        ([a], {"type": "solo"}, None),
    ]
    assert await service.is_member(group_id, a)
    assert not await service.is_member(group_id, "stranger")
    assert await service.members_of("group_unknown") == frozenset()


async def test_member_cache_is_dropped_by_a_membership_change(
    db: Database, realtime: tuple[RealtimeService, Recorder, FlakyBroker]
) -> None:
    service, recorder, _ = realtime
    group_id, members = await make_group(db, "a", "b")
    assert await service.members_of(group_id) == frozenset(members)
    late = await add_user(db, group_id)
    # Cached: a change made without telling the broker is not seen...
    assert late not in await service.members_of(group_id)
    # ...and the membership event that services send after such a change drops the cache.
    service.send_message_to_group(group_id, {"type": "member_joined"}, membership_changed=True)
    await recorder.wait_for(1)
    assert recorder.deliveries[0][0] == sorted([*members, late])
    assert await service.is_member(group_id, late)


async def test_membership_change_drops_the_cache_even_without_local_sockets(
    db: Database, realtime: tuple[RealtimeService, Recorder, FlakyBroker]
) -> None:
    service, recorder, _ = realtime
    group_id, members = await make_group(db, "a")
    await service.members_of(group_id)
    late = await add_user(db, group_id)
    recorder.connected = False
    service.send_message_to_group(group_id, {"type": "member_joined"}, membership_changed=True)
    service.send_message_to_group(group_id, {"type": "lost"})
    await service.stop()
    assert recorder.deliveries == []
    assert await service.members_of(group_id) == frozenset([*members, late])


async def test_a_failing_broker_or_socket_layer_does_not_stop_fan_out(
    db: Database, realtime: tuple[RealtimeService, Recorder, FlakyBroker]
) -> None:
    service, recorder, broker = realtime
    group_id, _ = await make_group(db, "a")
    broker.down = True
    service.send_message_to_group(group_id, {"type": "dropped"})
    await asyncio.sleep(0.05)
    broker.down = False
    recorder.failing = True
    service.send_message_to_group(group_id, {"type": "socket-error"})
    await asyncio.sleep(0.05)
    recorder.failing = False
    service.send_message_to_group(group_id, {"type": "delivered"})
    await recorder.wait_for(1)
    assert [payload["type"] for _, payload, _ in recorder.deliveries] == ["delivered"]
    assert await service.broker_ok()


async def test_stop_flushes_queued_events(
    db: Database, realtime: tuple[RealtimeService, Recorder, FlakyBroker]
) -> None:
    service, recorder, _ = realtime
    group_id, _ = await make_group(db, "a")
    for n in range(300):
        service.send_message_to_group(group_id, {"type": "x", "n": n})
    await service.stop()
    assert [payload["n"] for _, payload, _ in recorder.deliveries] == list(range(300))
    await service.stop()  # stopping twice is harmless


async def test_a_publish_only_instance_delivers_nothing_locally(db: Database) -> None:
    """A Celery worker publishes without subscribing: nothing comes back to it."""
    recorder = Recorder()
    service = RealtimeService(db, MemoryBroker(), recorder)
    await service.start(subscribe=False)
    service.send_message_to_users(["u"], {"type": "x"})
    await service.stop()
    assert recorder.deliveries == []
    socketless = NoLocalConnections()
    assert not socketless.has_connections()
    assert socketless.deliver(["u"], "{}", None) == 0
