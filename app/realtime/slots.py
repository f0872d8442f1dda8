"""Sliding-window slot stores for rate limits: a log of timestamps per key within a window.

In-process for the embedded shape; in Redis (one atomic script) for the scaled shape, so every
instance enforces one limit. The rules (what is counted, what a refusal means) live with the
core's rate limiter; a store only reserves and releases slots.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.realtime.store_errors import report_store_error

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


class SlotStore(Protocol):
    async def reserve(self, key: str, token: str, now: float) -> float | None:
        """Reserve a slot; None when granted, else the oldest slot's time in the window."""

    async def release(self, key: str, token: str) -> None: ...

    async def clear(self, key: str) -> None:
        """Forget every slot of `key` (a successful login resets its failures)."""


class MemorySlots:
    """Keys whose every slot has left the window are dropped, at most one window after their
    last slot, so memory follows the active keys, not every key ever seen."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._slots: dict[str, deque[tuple[float, str]]] = {}
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return len(self._slots)

    async def reserve(self, key: str, token: str, now: float) -> float | None:
        self._sweep(now)
        slots = self._slots.setdefault(key, deque())
        while slots and slots[0][0] <= now - self.window:
            slots.popleft()
        if len(slots) >= self.limit:
            return slots[0][0]
        slots.append((now, token))
        return None

    async def release(self, key: str, token: str) -> None:
        slots = self._slots.get(key)
        if slots is None:
            return
        for index, (_, held) in enumerate(slots):
            if held == token:
                del slots[index]
                break
        if not slots:
            del self._slots[key]

    async def clear(self, key: str) -> None:
        self._slots.pop(key, None)

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.window
        horizon = now - self.window
        idle = [key for key, slots in self._slots.items() if not slots or slots[-1][0] <= horizon]
        for key in idle:
            del self._slots[key]


class RedisSlots:
    """A sorted set per key. When Redis fails, the slot is granted (availability of the chat
    beats the limit); the failure is counted and logged."""

    def __init__(self, redis: Redis, prefix: str, limit: int, window: float) -> None:
        self.redis = redis
        self.prefix = prefix
        self.limit = limit
        self.window = window
        self._script = redis.register_script(_RESERVE_SCRIPT)

    def _key(self, key: str) -> str:
        return f"{self.prefix}:rate:{key}"

    async def reserve(self, key: str, token: str, now: float) -> float | None:
        try:
            oldest = await self._script(
                keys=[self._key(key)],
                args=[int(now * 1000), int(self.window * 1000), self.limit, token],
            )
        except (RedisError, OSError) as exc:
            report_store_error("rate_limit", exc)
            return None
        text = oldest.decode() if isinstance(oldest, bytes) else str(oldest or "")
        return float(text) / 1000 if text else None

    async def release(self, key: str, token: str) -> None:
        try:
            await self.redis.zrem(self._key(key), token)
        except (RedisError, OSError) as exc:
            report_store_error("rate_limit", exc)

    async def clear(self, key: str) -> None:
        try:
            await self.redis.delete(self._key(key))
        except (RedisError, OSError) as exc:
            report_store_error("rate_limit", exc)
