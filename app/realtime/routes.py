"""This instance's routes: which connected users are in which groups.

They decide both what the instance listens to — the channel of each group with a local member
and of each local user — and who gets a group's event here. An instance with no member of a
group connected never hears of that group's events (routed fan-out): its cost follows its own
users, not the traffic of the whole deployment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

BROADCAST = "all"
"""The channel every instance listens to (signals)."""


def group_channel(group_id: str) -> str:
    return f"g:{group_id}"


def user_channel(user_id: str) -> str:
    return f"u:{user_id}"


class LocalRoutes:
    def __init__(self) -> None:
        self._connections: Counter[str] = Counter()
        self._groups_of: dict[str, set[str]] = {}
        self._users_in: dict[str, set[str]] = {}

    def connect(self, user_id: str) -> None:
        """Count a connection of `user_id` (its groups follow with `set_groups`)."""
        self._connections[user_id] += 1

    def disconnect(self, user_id: str) -> set[str]:
        """Forget a connection; when it was the user's last, drop the user and return the
        channels nobody here needs any more."""
        if user_id not in self._connections:  # never connected (its socket failed first)
            return set()
        self._connections[user_id] -= 1
        if self._connections[user_id] > 0:
            return set()
        del self._connections[user_id]
        dropped = {user_channel(user_id)}
        for group_id in self._groups_of.pop(user_id, set()):
            if self._remove(user_id, group_id):
                dropped.add(group_channel(group_id))
        return dropped

    def set_groups(self, user_id: str, group_ids: Iterable[str]) -> tuple[set[str], set[str]]:
        """Make `group_ids` the user's groups (a connected user only); returns the channels to
        (subscribe, unsubscribe)."""
        if user_id not in self._connections:
            return set(), set()
        wanted = set(group_ids)
        current = self._groups_of.setdefault(user_id, set())
        added = {group_channel(g) for g in wanted - current if self._add(user_id, g)}
        removed = {group_channel(g) for g in current - wanted if self._remove(user_id, g)}
        self._groups_of[user_id] = wanted
        return added, removed

    def join(self, user_id: str, group_id: str) -> str | None:
        """A connected user joined a group: the channel to subscribe to, if new here."""
        groups = self._groups_of.get(user_id)
        if groups is None or group_id in groups:
            return None
        groups.add(group_id)
        return group_channel(group_id) if self._add(user_id, group_id) else None

    def leave(self, user_id: str, group_id: str) -> str | None:
        """A connected user left a group: the channel to drop, if nobody here needs it."""
        groups = self._groups_of.get(user_id)
        if groups is None or group_id not in groups:
            return None
        groups.discard(group_id)
        return group_channel(group_id) if self._remove(user_id, group_id) else None

    def users_in(self, group_id: str) -> set[str]:
        return self._users_in.get(group_id, set())

    def is_member(self, user_id: str, group_id: str) -> bool:
        return group_id in self._groups_of.get(user_id, ())

    def knows_groups_of(self, user_id: str) -> bool:
        return user_id in self._groups_of

    def is_connected(self, user_id: str) -> bool:
        return user_id in self._connections

    def users(self) -> list[str]:
        return list(self._connections)

    def channels(self) -> set[str]:
        """Every channel this instance needs besides the broadcast one."""
        return {user_channel(u) for u in self._connections} | {
            group_channel(g) for g in self._users_in
        }

    def _add(self, user_id: str, group_id: str) -> bool:
        users = self._users_in.setdefault(group_id, set())
        users.add(user_id)
        return len(users) == 1

    def _remove(self, user_id: str, group_id: str) -> bool:
        users = self._users_in.get(group_id)
        if users is None:
            return False
        users.discard(user_id)
        if users:
            return False
        del self._users_in[group_id]
        return True
