"""Concurrent checks of sessions that are not in the cache share one query.

Under load every cached session expires a few times a minute, and each check would otherwise
take a pooled connection for a one-row read. A single loop takes every session asked for
while the previous query ran and reads them together (the writer's group commit, for reads).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection

OwnersOf = Callable[[Collection[str]], Awaitable[dict[str, str]]]
"""The owners of those of the given sessions that are open."""


class SessionLookups:
    def __init__(self, owners_of: OwnersOf) -> None:
        self._owners_of = owners_of
        self._waiting: dict[str, asyncio.Future[str | None]] = {}
        self._task: asyncio.Task[None] | None = None

    async def owner(self, session_id: str) -> str | None:
        """The user of the session if it is open, else None; raises the query's error."""
        future = self._waiting.get(session_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._waiting[session_id] = future
            if self._task is None or self._task.done():
                self._task = asyncio.create_task(self._run(), name="session-lookups")
        # Shielded: one caller giving up must not cancel the answer the others wait for.
        return await asyncio.shield(future)

    async def _run(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, {}
            try:
                owners = await self._owners_of(list(batch))
            except Exception as exc:
                for future in batch.values():
                    future.set_exception(exc)
                continue
            for session_id, future in batch.items():
                future.set_result(owners.get(session_id))
