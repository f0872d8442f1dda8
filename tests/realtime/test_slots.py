"""The send rate limiter (SPEC §2) over the slot stores (app/realtime/slots.py): a sliding 60 s
window per user; uncounted attempts give their slot back; idle users cost no memory; with Redis
unreachable sends are not limited, and the failure is counted. Runs on the in-process store, and
on Redis too when IM_TEST_REDIS_URL is set."""

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from app.errors import RateLimited
from app.realtime.slots import MemorySlots, RedisSlots, SlotStore
from app.services.core.rate_limit import WINDOW_SECONDS, RateLimiter
from tests.realtime.conftest import STORES, store_errors

LIMIT = 2


@pytest.fixture(params=STORES)
async def store(
    request: pytest.FixtureRequest, prefix: str, redis_url: str
) -> AsyncIterator[SlotStore]:
    if request.param == "memory":
        yield MemorySlots(LIMIT, WINDOW_SECONDS)
        return
    redis = Redis.from_url(redis_url)
    try:
        yield RedisSlots(redis, prefix, LIMIT, WINDOW_SECONDS)
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


async def test_idle_users_are_forgotten_in_memory() -> None:
    """Before the fix, a user who sent once kept a slot list for the life of the process."""
    slots = MemorySlots(LIMIT, WINDOW_SECONDS)
    for index in range(1000):
        assert await slots.reserve(f"user-{index}", "t", 100.0) is None
    assert len(slots) == 1000
    # A window later, the next reservation sweeps every user whose slots have all expired.
    assert await slots.reserve("active", "t", 100.0 + WINDOW_SECONDS + 1) is None
    assert len(slots) == 1


async def test_zero_disables_the_limit() -> None:
    limiter = RateLimiter(0, MemorySlots(0, WINDOW_SECONDS))
    for _ in range(500):
        async with limiter.attempt("u") as attempt:
            attempt.count()


async def test_unreachable_redis_does_not_limit_sends_and_is_counted(dead_redis: Redis) -> None:
    before = store_errors("rate_limit")
    limiter = RateLimiter(1, RedisSlots(dead_redis, "imtest-down", 1, WINDOW_SECONDS))
    for _ in range(3):
        async with limiter.attempt("u") as attempt:
            attempt.count()
    async with limiter.attempt("u"):
        pass  # the release fails too, and is counted
    assert store_errors("rate_limit") == before + 5
