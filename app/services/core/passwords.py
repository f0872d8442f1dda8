"""Password hashing (argon2id, argon2-cffi) off the event loop.

Hashing is deliberately slow (~40 ms of CPU): it runs in a small thread pool of its own (the
C code releases the GIL), so a burst of logins queues there instead of in the event loop or the
default executor. Those threads leave one core to the rest of the process and run at a lower
scheduling priority (nice 19, Linux), so that even when logins keep every core busy, the event
loop still gets the CPU first and other users' sends are not delayed. Parameters are OWASP's
for argon2id (19 MiB, 2 passes, 1 lane); other parameters are upgraded at the next login.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASH_NICENESS = 19


def default_threads() -> int:
    """Every core but one (at least one)."""
    return max(1, (os.cpu_count() or 2) - 1)


def _lower_priority() -> None:
    """Run this pool thread after the event loop when both want a CPU (best effort)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICENESS)


class Passwords:
    def __init__(self, threads: int | None = None) -> None:
        self._hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
        self._pool = ThreadPoolExecutor(
            max_workers=threads or default_threads(),
            thread_name_prefix="argon2",
            initializer=_lower_priority,
        )
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
