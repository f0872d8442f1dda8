"""Per-user send rate limit over a sliding 60 s window (`RATE_LIMIT_MESSAGES_PER_MINUTE`).

A send reserves a slot on entry and gives it back unless it stored a new message, so refused
sends and idempotent replays are not counted. The slots live in a store from app/realtime
(in-process, or Redis so that every instance enforces one limit).
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.errors import RateLimited
from app.realtime.slots import SlotStore

WINDOW_SECONDS = 60.0


class Attempt:
    """Handed to the caller inside `RateLimiter.attempt`; `count()` keeps the reserved slot."""

    def __init__(self) -> None:
        self.counted = False

    def count(self) -> None:
        self.counted = True


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
