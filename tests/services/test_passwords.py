"""Password hashing (app/services/core/passwords.py): argon2id, checked off the event loop in
low-priority threads of its own, the same answer for a missing hash, upgrades of old hashes."""

from __future__ import annotations

import asyncio
import os
import threading

from argon2 import PasswordHasher

from app.services.core.passwords import HASH_NICENESS, Passwords


async def test_hash_and_verify() -> None:
    passwords = Passwords()
    try:
        stored = await passwords.hash("correct horse battery")
        assert stored.startswith("$argon2id$") and "correct horse" not in stored
        assert await passwords.verify(stored, "correct horse battery")
        assert not await passwords.verify(stored, "correct horse battery!")
        assert not await passwords.verify("not a hash", "correct horse battery")
        assert not await passwords.verify(None, "correct horse battery")
        assert not passwords.needs_rehash(stored)
        old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("x" * 8)
        assert passwords.needs_rehash(old)
    finally:
        passwords.close()


async def test_hashing_runs_in_low_priority_threads_of_its_own() -> None:
    passwords = Passwords(threads=1)

    def where() -> tuple[int, int]:
        me = threading.get_native_id()
        return me, os.getpriority(os.PRIO_PROCESS, me)

    try:
        worker, niceness = await asyncio.get_running_loop().run_in_executor(passwords._pool, where)
    finally:
        passwords.close()
    assert worker != threading.get_native_id()
    assert niceness == HASH_NICENESS
