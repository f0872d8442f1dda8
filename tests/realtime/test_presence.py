"""Presence stores (app/realtime/presence.py): connections per user, the per-user cap, who is
online, refresh that only extends, expiry of connections nobody refreshes; in memory and in
Redis (when IM_TEST_REDIS_URL is set)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from app.realtime.presence import Admission, MemoryPresence, PresenceStore, RedisPresence
from tests.realtime.conftest import STORES, store_errors


@pytest.fixture(params=STORES)
async def store(
    request: pytest.FixtureRequest, prefix: str, redis_url: str
) -> AsyncIterator[PresenceStore]:
    if request.param == "memory":
        yield MemoryPresence()
        return
    redis = Redis.from_url(redis_url)
    try:
        yield RedisPresence(redis, prefix)
    finally:
        await redis.aclose()


async def test_online_follows_connections(store: PresenceStore) -> None:
    assert await store.connect("u", "c1", 0) == Admission(accepted=True, came_online=True)
    assert await store.connect("u", "c2", 0) == Admission(accepted=True, came_online=False)
    assert await store.online(["u", "v"]) == {"u"}
    assert not await store.disconnect("u", "c1")
    assert await store.disconnect("u", "c2")  # the last one: offline now
    assert await store.online(["u"]) == set()
    assert not await store.disconnect("u", "c2")  # twice is harmless
    assert await store.online([]) == set()


async def test_the_per_user_cap_refuses_the_next_connection(store: PresenceStore) -> None:
    for index in range(3):
        assert (await store.connect("u", f"c{index}", 3)).accepted
    assert await store.connect("u", "c3", 3) == Admission(accepted=False)
    assert (await store.connect("other", "c0", 3)).accepted
    await store.disconnect("u", "c0")
    assert (await store.connect("u", "c3", 3)).accepted


async def test_refresh_never_brings_back_a_closed_connection(store: PresenceStore) -> None:
    """Before the fix, a refresh racing with a disconnect re-added the connection, and the
    user showed online for a minute after leaving."""
    await store.connect("u", "c1", 0)
    await store.disconnect("u", "c1")
    await store.refresh([("u", "c1")])
    assert await store.online(["u"]) == set()


async def test_unrefreshed_connections_lapse(redis: Redis, prefix: str) -> None:
    """A crashed instance never disconnects its users: their connections expire by themselves,
    one by one, while the user's connections that are refreshed stay."""
    store = RedisPresence(redis, prefix, ttl=0.5)
    await store.connect("u", "crashed", 2)
    await store.connect("u", "alive", 2)
    assert not (await store.connect("u", "new", 2)).accepted
    async with asyncio.timeout(5):
        while not (await store.connect("u", "new", 2)).accepted:  # room once "crashed" lapsed
            await store.refresh([("u", "alive")])
            await asyncio.sleep(0.05)
    assert await store.online(["u"]) == {"u"}
    await store.disconnect("u", "new")
    assert await store.disconnect("u", "alive")


async def test_redis_failures_fall_back_and_are_counted(dead_redis: Redis) -> None:
    store = RedisPresence(dead_redis, "imtest-down")
    before = store_errors("presence")
    assert await store.connect("u", "c", 1) == Admission(accepted=True, came_online=False)
    assert not await store.disconnect("u", "c")
    await store.refresh([("u", "c")])
    assert await store.online(["u"]) == set()
    assert store_errors("presence") == before + 4
