"""Per-user send rate limit over a sliding 60 s window (`RATE_LIMIT_MESSAGES_PER_MINUTE`).

A send reserves a slot on entry and gives it back unless it stored a new message, so refused
sends and idempotent replays are not counted. In-process for the embedded shape; in Redis (one
atomic script) for the scaled shape, so every instance enforces one limit.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.errors import RateLimited

WINDOW_SECONDS = 60.0

_RESERVE_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(oldest[2])
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return ''
"""


class Attempt:
    """Handed to the caller inside `RateLimiter.attempt`; `count()` keeps the reserved slot."""

    def __init__(self) -> None:
        self.counted = False

    def count(self) -> None:
        self.counted = True


class SlotStore(Protocol):
    async def reserve(self, user_id: str, token: str, now: float) -> float | None:
        """Reserve a slot; None when granted, else the oldest slot's time in the window."""

    async def release(self, user_id: str, token: str) -> None: ...


class RateLimiter:
    def __init__(self, per_minute: int, store: SlotStore) -> None:
        self.per_minute = per_minute
        self.store = store

    @asynccontextmanager
    async def attempt(self, user_id: str) -> AsyncIterator[Attempt]:
        attempt = Attempt()
        if self.per_minute <= 0:
            yield attempt
            return
        token = secrets.token_hex(8)
        now = time.time()
        oldest = await self.store.reserve(user_id, token, now)
        if oldest is not None:
            raise RateLimited(max(1, math.ceil(oldest + WINDOW_SECONDS - now)))
        try:
            yield attempt
        finally:
            if not attempt.counted:
                await self.store.release(user_id, token)


class MemorySlots:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._slots: defaultdict[str, deque[tuple[float, str]]] = defaultdict(deque)

    async def reserve(self, user_id: str, token: str, now: float) -> float | None:
        slots = self._slots[user_id]
        while slots and slots[0][0] <= now - WINDOW_SECONDS:
            slots.popleft()
        if len(slots) >= self.per_minute:
            return slots[0][0]
        slots.append((now, token))
        return None

    async def release(self, user_id: str, token: str) -> None:
        slots = self._slots.get(user_id)
        if slots is None:
            return
        for index, (_, held) in enumerate(slots):
            if held == token:
                del slots[index]
                break
        if not slots:
            del self._slots[user_id]


class RedisSlots:
    """Sliding-window log in a sorted set per user; when Redis is down, sends are not limited
    (availability of the chat beats the limit)."""

    def __init__(self, redis: Redis, prefix: str, per_minute: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.per_minute = per_minute
        self._script = redis.register_script(_RESERVE_SCRIPT)

    def _key(self, user_id: str) -> str:
        return f"{self.prefix}:rate:{user_id}"

    async def reserve(self, user_id: str, token: str, now: float) -> float | None:
        window_ms = int(WINDOW_SECONDS * 1000)
        try:
            oldest = await self._script(
                keys=[self._key(user_id)],
                args=[int(now * 1000), window_ms, self.per_minute, token],
            )
        except (RedisError, OSError):
            return None
        text = oldest.decode() if isinstance(oldest, bytes) else str(oldest or "")
        return float(text) / 1000 if text else None

    async def release(self, user_id: str, token: str) -> None:
        try:
            await self.redis.zrem(self._key(user_id), token)
        except (RedisError, OSError):
            return
