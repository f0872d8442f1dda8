"""Once-per-interval throttles: `allow(key)` is true at most once every `interval` seconds per key.

In-process, or in Redis (`SET NX PX`) so that every instance shares one throttle.
"""

from __future__ import annotations

import time
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.realtime.store_errors import report_store_error


class Throttle(Protocol):
    async def allow(self, key: str) -> bool: ...


class MemoryThrottle:
    """Expired keys are dropped once per interval, so memory follows the active keys."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._until: dict[str, float] = {}
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return len(self._until)

    async def allow(self, key: str) -> bool:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.interval
            self._until = {k: until for k, until in self._until.items() if until > now}
        if self._until.get(key, 0.0) > now:
            return False
        self._until[key] = now + self.interval
        return True


class RedisThrottle:
    """When Redis fails the event is allowed (typing is cosmetic); the failure is counted."""

    def __init__(self, redis: Redis, prefix: str, name: str, interval: float) -> None:
        self.redis = redis
        self.prefix = f"{prefix}:throttle:{name}"
        self.interval_ms = max(1, int(interval * 1000))

    async def allow(self, key: str) -> bool:
        try:
            return bool(
                await self.redis.set(f"{self.prefix}:{key}", b"1", nx=True, px=self.interval_ms)
            )
        except (RedisError, OSError) as exc:
            report_store_error("throttle", exc)
            return True
