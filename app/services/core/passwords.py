"""Password hashing (argon2id, argon2-cffi) off the event loop.

Hashing is deliberately slow (~40 ms of CPU): it runs in a small thread pool of its own (the
C code releases the GIL), so a burst of logins queues there and never delays other users'
requests, nor the default executor's other work. Parameters are OWASP's for argon2id (19 MiB,
2 passes, 1 lane); hashes made with other parameters are upgraded at the next login.
"""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASH_THREADS = 2


class Passwords:
    def __init__(self, threads: int = HASH_THREADS) -> None:
        self._hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches `stored`. With no stored hash (an unknown login, a user
        without a password) a dummy hash is checked all the same, so that every failure takes
        the same time, and the answer is False."""
        if stored is None:
            if self._dummy is None:
                self._dummy = await self.hash(secrets.token_urlsafe(32))
            await self._check(self._dummy, password)
            return False
        return await self._check(stored, password)

    async def _check(self, stored: str, password: str) -> bool:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, self._hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
