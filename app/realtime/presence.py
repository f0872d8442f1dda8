"""Who is connected, across instances: connection ids per user.

In-process: the connection ids of this process. Redis: a sorted set per user whose scores are
each connection's expiry; the instance holding a connection pushes its expiry forward every
`REFRESH_SECONDS`, so the connections of a crashed instance lapse by themselves within
`CONNECTION_TTL`. A refresh only extends connections that are still there: a disconnect that
races with it is never undone.

`connect` also enforces the per-user connection cap, atomically with the insert.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.realtime.store_errors import report_store_error

CONNECTION_TTL = 60.0
REFRESH_SECONDS = 20.0

_CONNECT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local before = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[4])
if limit > 0 and before >= limit then return -1 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return before
"""

_DISCONNECT = """
local removed = redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if removed == 1 and redis.call('ZCARD', KEYS[1]) == 0 then return 1 end
return 0
"""


@dataclass(frozen=True)
class Admission:
    accepted: bool
    came_online: bool = False


class PresenceStore(Protocol):
    async def connect(self, user_id: str, connection_id: str, limit: int) -> Admission:
        """Record a connection unless the user already holds `limit` (0: no cap)."""

    async def disconnect(self, user_id: str, connection_id: str) -> bool:
        """Forget a connection; True when the user just went offline."""

    async def refresh(self, connections: Iterable[tuple[str, str]]) -> None:
        """Extend the expiry of these (user_id, connection_id) that still exist."""

    async def online(self, user_ids: Iterable[str]) -> set[str]: ...


class MemoryPresence:
    def __init__(self) -> None:
        self._connections: dict[str, set[str]] = {}

    async def connect(self, user_id: str, connection_id: str, limit: int) -> Admission:
        held = self._connections.setdefault(user_id, set())
        if limit > 0 and len(held) >= limit:
            if not held:
                del self._connections[user_id]
            return Admission(accepted=False)
        held.add(connection_id)
        return Admission(accepted=True, came_online=len(held) == 1)

    async def disconnect(self, user_id: str, connection_id: str) -> bool:
        held = self._connections.get(user_id)
        if held is None or connection_id not in held:
            return False
        held.discard(connection_id)
        if held:
            return False
        del self._connections[user_id]
        return True

    async def refresh(self, connections: Iterable[tuple[str, str]]) -> None:
        return None

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        return {user_id for user_id in user_ids if self._connections.get(user_id)}


class RedisPresence:
    """On a Redis error: a connection is admitted (no cap can be checked), nobody comes or goes
    online, and nobody is reported online; each failure is counted and logged."""

    def __init__(self, redis: Redis, prefix: str, *, ttl: float = CONNECTION_TTL) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl
        self._connect = redis.register_script(_CONNECT)
        self._disconnect = redis.register_script(_DISCONNECT)

    def _key(self, user_id: str) -> str:
        return f"{self.prefix}:presence:{user_id}"

    async def connect(self, user_id: str, connection_id: str, limit: int) -> Admission:
        now_ms = int(time.time() * 1000)
        ttl_ms = int(self.ttl * 1000)
        try:
            before = int(
                await self._connect(
                    keys=[self._key(user_id)],
                    args=[now_ms, now_ms + ttl_ms, connection_id, limit, ttl_ms],
                )
            )
        except (RedisError, OSError) as exc:
            report_store_error("presence", exc)
            return Admission(accepted=True)
        if before < 0:
            return Admission(accepted=False)
        return Admission(accepted=True, came_online=before == 0)

    async def disconnect(self, user_id: str, connection_id: str) -> bool:
        try:
            went = await self._disconnect(
                keys=[self._key(user_id)], args=[int(time.time() * 1000), connection_id]
            )
        except (RedisError, OSError) as exc:
            report_store_error("presence", exc)
            return False
        return int(went) == 1

    async def refresh(self, connections: Iterable[tuple[str, str]]) -> None:
        expiry_ms = int((time.time() + self.ttl) * 1000)
        ttl_ms = int(self.ttl * 1000)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for user_id, connection_id in connections:
                    key = self._key(user_id)
                    pipe.zadd(key, {connection_id: expiry_ms}, xx=True)
                    pipe.pexpire(key, ttl_ms)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            report_store_error("presence", exc)

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        ids = list(user_ids)
        if not ids:
            return set()
        now_ms = int(time.time() * 1000)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for user_id in ids:
                    pipe.zcount(self._key(user_id), f"({now_ms}", "+inf")
                counts = await pipe.execute()
        except (RedisError, OSError) as exc:
            report_store_error("presence", exc)
            return set()
        return {user_id for user_id, count in zip(ids, counts, strict=True) if int(count) > 0}
