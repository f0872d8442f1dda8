"""This instance's cache of group member lists, for resolving a group's recipients.

Entries live `ttl` seconds at most (the bound on staleness if an invalidation is lost while the
broker is down) and are dropped at once when an envelope says membership changed. The lookup
itself is handed in: the cache does not know where member lists come from.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection

MemberLookup = Callable[[str], Awaitable[Collection[str]]]

DEFAULT_TTL = 10.0
DEFAULT_SIZE = 50_000


class MemberCache:
    def __init__(
        self, lookup: MemberLookup, *, ttl: float = DEFAULT_TTL, size: int = DEFAULT_SIZE
    ) -> None:
        self.lookup = lookup
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[str, tuple[float, frozenset[str]]] = OrderedDict()
        self._generation = 0

    async def members(self, group_id: str) -> frozenset[str]:
        cached = self._entries.get(group_id)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            self._entries.move_to_end(group_id)
            return cached[1]
        generation = self._generation
        members = frozenset(await self.lookup(group_id))
        # A read that overlapped an invalidation may be stale: use it once, don't keep it.
        if generation == self._generation:
            self._entries[group_id] = (now + self.ttl, members)
            self._entries.move_to_end(group_id)
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return members

    async def contains(self, group_id: str, user_id: str) -> bool:
        return user_id in await self.members(group_id)

    def invalidate(self, group_id: str) -> None:
        self._entries.pop(group_id, None)
        self._generation += 1

    def clear(self) -> None:
        self._entries.clear()
        self._generation += 1
