"""The send rate limiter (SPEC §2): a sliding 60 s window per user; uncounted attempts give their
slot back; with Redis unreachable sends are not limited. Runs on the in-process store, and on
Redis too when IM_TEST_REDIS_URL is set."""

import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from app.errors import RateLimited
from app.services.core.rate_limit import (
    WINDOW_SECONDS,
    MemorySlots,
    RateLimiter,
    RedisSlots,
    SlotStore,
)
from tests.databases import REDIS_URL

LIMIT = 2
STORES = ["memory", "redis"] if REDIS_URL else ["memory"]


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[SlotStore]:
    if request.param == "memory":
        yield MemorySlots(LIMIT)
        return
    redis = Redis.from_url(REDIS_URL)
    try:
        yield RedisSlots(redis, f"imtest-{secrets.token_hex(4)}", LIMIT)
    finally:
        await redis.aclose()


async def test_counted_attempts_fill_the_window(store: SlotStore) -> None:
    limiter = RateLimiter(LIMIT, store)
    for _ in range(LIMIT):
        async with limiter.attempt("u1") as attempt:
            attempt.count()
    with pytest.raises(RateLimited) as refused:
        async with limiter.attempt("u1"):
            pytest.fail("a refused attempt must not run")
    assert 1 <= refused.value.retry_after <= WINDOW_SECONDS
    assert refused.value.code == "RATE_LIMITED" and refused.value.http_status == 429
    # Another user has a window of their own.
    async with limiter.attempt("u2") as attempt:
        attempt.count()


async def test_uncounted_and_failed_attempts_give_their_slot_back(store: SlotStore) -> None:
    limiter = RateLimiter(LIMIT, store)
    for _ in range(LIMIT * 3):
        async with limiter.attempt("u1"):
            pass  # e.g. an idempotent replay
    for _ in range(LIMIT * 3):
        with pytest.raises(ValueError, match="refused"):
            async with limiter.attempt("u1"):
                raise ValueError("refused")  # e.g. not a member
    for _ in range(LIMIT):
        async with limiter.attempt("u1") as attempt:
            attempt.count()
    with pytest.raises(RateLimited):
        async with limiter.attempt("u1"):
            pass


async def test_the_window_slides(store: SlotStore) -> None:
    assert await store.reserve("u", "a", 1000.0) is None
    assert await store.reserve("u", "b", 1010.0) is None
    oldest = await store.reserve("u", "c", 1030.0)
    assert oldest == pytest.approx(1000.0)
    # The first slot leaves the window 60 s after it was taken.
    assert await store.reserve("u", "d", 1000.0 + WINDOW_SECONDS + 0.5) is None
    assert await store.reserve("u", "e", 1000.0 + WINDOW_SECONDS + 1) == pytest.approx(1010.0)
    await store.release("u", "d")
    assert await store.reserve("u", "f", 1000.0 + WINDOW_SECONDS + 2) is None


async def test_release_of_unknown_slots_is_harmless(store: SlotStore) -> None:
    await store.release("nobody", "x")
    assert await store.reserve("u", "a", 5.0) is None
    await store.release("u", "not-a-slot")
    assert await store.reserve("u", "b", 6.0) is None
    assert await store.reserve("u", "c", 7.0) is not None


async def test_zero_disables_the_limit() -> None:
    limiter = RateLimiter(0, MemorySlots(0))
    for _ in range(500):
        async with limiter.attempt("u") as attempt:
            attempt.count()


async def test_unreachable_redis_does_not_limit_sends() -> None:
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        limiter = RateLimiter(1, RedisSlots(redis, "imtest-down", 1))
        for _ in range(3):
            async with limiter.attempt("u") as attempt:
                attempt.count()
        async with limiter.attempt("u"):
            pass  # the release fails quietly too
    finally:
        await redis.aclose()
