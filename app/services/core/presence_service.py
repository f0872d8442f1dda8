"""Presence as users see it: admitting a connection (within the per-user cap), `presence`
events to everyone who shares a group with a user who comes or goes, and who is online.

The connection records themselves live in a store from app/realtime (in-process or Redis).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from app.db.session import Database
from app.realtime.fanout import Fanout
from app.realtime.presence import Admission, PresenceStore
from app.repositories.group_member_repository import GroupMemberRepository
from app.services.core.events import presence_event

logger = logging.getLogger(__name__)


class PresenceService:
    def __init__(
        self, db: Database, store: PresenceStore, fanout: Fanout, *, per_user_limit: int
    ) -> None:
        self.db = db
        self.store = store
        self.fanout = fanout
        self.per_user_limit = per_user_limit

    async def admit(self, user_id: str, connection_id: str) -> Admission:
        """Record a new connection, unless the user already holds `per_user_limit`."""
        return await self.store.connect(user_id, connection_id, self.per_user_limit)

    async def arrived(self, user_id: str, admission: Admission) -> None:
        """Once the connection is greeted: if the user just came online, their co-members get
        a `presence` event."""
        if admission.came_online:
            await self._announce(user_id, online=True)

    async def leave(self, user_id: str, connection_id: str) -> None:
        if await self.store.disconnect(user_id, connection_id):
            await self._announce(user_id, online=False)

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        return await self.store.online(user_ids)

    async def refresh(self, connections: Iterable[tuple[str, str]]) -> None:
        """Keep this instance's connections alive in the store (they lapse otherwise)."""
        await self.store.refresh(connections)

    async def _announce(self, user_id: str, *, online: bool) -> None:
        try:
            async with self.db.read() as session:
                peers = await GroupMemberRepository(session).get_co_member_ids(user_id)
        except Exception as exc:  # the database may be down; presence is best effort
            logger.warning("presence of %s not announced: %r", user_id, exc)
            return
        peers.discard(user_id)
        if peers:
            self.fanout.to_users(peers, presence_event(user_id, online=online))
