"""Login throttling (SPEC §10): 5 failures per login, or 50 per client IP, within 15 minutes;
then 429 with `Retry-After` until the oldest failure leaves the window. A success clears its
login's failures. The counts live in sliding-window slot stores from app/realtime (in-process,
or Redis so every instance counts together; when Redis fails, logins are not throttled).

Each attempt reserves its slots before the password is checked, so parallel guesses cannot
overshoot the limit; a success gives them back.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from app.errors import RateLimited
from app.realtime.slots import SlotStore

WINDOW_SECONDS = 15 * 60.0
FAILURES_PER_LOGIN = 5
FAILURES_PER_IP = 50


class Attempt:
    """Handed to the caller inside `LoginThrottle.attempt`: `fail()` before refusing the
    credentials keeps the reserved slots (a counted failure)."""

    def __init__(self) -> None:
        self.failed = False

    def fail(self) -> None:
        self.failed = True


@dataclass(frozen=True)
class _Slot:
    store: SlotStore
    key: str
    token: str


class LoginThrottle:
    def __init__(self, per_login: SlotStore, per_ip: SlotStore) -> None:
        """`per_login` holds FAILURES_PER_LOGIN and `per_ip` FAILURES_PER_IP slots over
        WINDOW_SECONDS (the stores are built with those limits)."""
        self.per_login = per_login
        self.per_ip = per_ip

    @asynccontextmanager
    async def attempt(self, login: str, client_ip: str | None) -> AsyncIterator[Attempt]:
        """Raises RateLimited when the login or the IP is over its limit. A block that ends
        normally is a success; one that called `fail()` is a counted failure; any other error
        counts nothing."""
        now = time.time()
        held: list[_Slot] = []
        try:
            if client_ip:
                held.append(await self._reserve(self.per_ip, f"ip:{client_ip}", now))
            held.append(await self._reserve(self.per_login, f"login:{login}", now))
        except RateLimited:
            await _release(held)
            raise
        attempt = Attempt()
        try:
            yield attempt
        except BaseException:
            if not attempt.failed:
                await _release(held)
            raise
        if attempt.failed:
            return
        await _release(held)
        await self.reset(login)

    async def reset(self, login: str) -> None:
        """Forget a login's failures (its password was just reset)."""
        await self.per_login.clear(f"login:{login}")

    @staticmethod
    async def _reserve(store: SlotStore, key: str, now: float) -> _Slot:
        token = secrets.token_hex(8)
        oldest = await store.reserve(key, token, now)
        if oldest is not None:
            raise RateLimited(max(1, math.ceil(oldest + WINDOW_SECONDS - now)), "sign-in attempts")
        return _Slot(store, key, token)


async def _release(slots: list[_Slot]) -> None:
    for slot in slots:
        await slot.store.release(slot.key, slot.token)
