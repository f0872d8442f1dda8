"""Who is online, across instances.

In-process: a count of open connections per user. Redis: a set of connection ids per user with
a TTL that each instance refreshes while the connection lives, so a crashed instance's users go
offline by themselves within `PRESENCE_TTL` seconds.
"""

from collections import Counter
from collections.abc import Iterable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

PRESENCE_TTL = 60


class PresenceStore(Protocol):
    async def connect(self, user_id: str, connection_id: str) -> bool:
        """Record a connection; True when the user just came online."""

    async def disconnect(self, user_id: str, connection_id: str) -> bool:
        """Forget a connection; True when the user just went offline."""

    async def refresh(self, connections: Iterable[tuple[str, str]]) -> None: ...

    async def online(self, user_ids: Iterable[str]) -> set[str]: ...


class MemoryPresence:
    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    async def connect(self, user_id: str, connection_id: str) -> bool:
        self._counts[user_id] += 1
        return self._counts[user_id] == 1

    async def disconnect(self, user_id: str, connection_id: str) -> bool:
        self._counts[user_id] -= 1
        if self._counts[user_id] <= 0:
            del self._counts[user_id]
            return True
        return False

    async def refresh(self, connections: Iterable[tuple[str, str]]) -> None:
        return None

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        return {user_id for user_id in user_ids if self._counts.get(user_id, 0) > 0}


class RedisPresence:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    def _key(self, user_id: str) -> str:
        return f"{self.prefix}:presence:{user_id}"

    async def connect(self, user_id: str, connection_id: str) -> bool:
        key = self._key(user_id)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.sadd(key, connection_id)
                pipe.expire(key, PRESENCE_TTL)
                pipe.scard(key)
                _, _, count = await pipe.execute()
        except (RedisError, OSError):
            return False
        return int(count) == 1

    async def disconnect(self, user_id: str, connection_id: str) -> bool:
        key = self._key(user_id)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.srem(key, connection_id)
                pipe.scard(key)
                _, count = await pipe.execute()
        except (RedisError, OSError):
            return False
        return int(count) == 0

    async def refresh(self, connections: Iterable[tuple[str, str]]) -> None:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for user_id, connection_id in connections:
                    key = self._key(user_id)
                    pipe.sadd(key, connection_id)
                    pipe.expire(key, PRESENCE_TTL)
                await pipe.execute()
        except (RedisError, OSError):
            return

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        ids = list(user_ids)
        if not ids:
            return set()
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for user_id in ids:
                    pipe.exists(self._key(user_id))
                found = await pipe.execute()
        except (RedisError, OSError):
            return set()
        return {user_id for user_id, exists in zip(ids, found, strict=True) if exists}
