"""Once-per-interval throttles (app/realtime/throttle.py), in memory and in Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from app.realtime.throttle import MemoryThrottle, RedisThrottle, Throttle
from tests.realtime.conftest import STORES, store_errors

INTERVAL = 0.3


@pytest.fixture(params=STORES)
async def throttle(
    request: pytest.FixtureRequest, prefix: str, redis_url: str
) -> AsyncIterator[Throttle]:
    if request.param == "memory":
        yield MemoryThrottle(INTERVAL)
        return
    redis = Redis.from_url(redis_url)
    try:
        yield RedisThrottle(redis, prefix, "test", INTERVAL)
    finally:
        await redis.aclose()


async def test_once_per_interval_per_key(throttle: Throttle) -> None:
    assert await throttle.allow("a")
    assert not await throttle.allow("a")
    assert await throttle.allow("b")
    await asyncio.sleep(INTERVAL + 0.05)  # the interval passes
    assert await throttle.allow("a")
    assert not await throttle.allow("a")


async def test_memory_throttle_forgets_expired_keys() -> None:
    throttle = MemoryThrottle(0.05)
    for index in range(100):
        await throttle.allow(f"k{index}")
    async with asyncio.timeout(5):
        while len(throttle) > 1:
            await throttle.allow("fresh")
            await asyncio.sleep(0.02)
    assert len(throttle) == 1


async def test_unreachable_redis_allows_and_is_counted(dead_redis: Redis) -> None:
    before = store_errors("throttle")
    throttle = RedisThrottle(dead_redis, "imtest-down", "test", INTERVAL)
    assert await throttle.allow("a")
    assert await throttle.allow("a")
    assert store_errors("throttle") == before + 2
