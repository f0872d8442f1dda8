"""Health of this instance, for `/health`: its database and broker, and its open sockets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy import text

from app.db.session import Database
from app.realtime.fanout import Fanout

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0


class HealthService:
    def __init__(self, db: Database, fanout: Fanout, connections: Callable[[], int]) -> None:
        self.db = db
        self.fanout = fanout
        self.connections = connections

    async def database_ok(self) -> bool:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT), self.db.read() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:
            logger.warning("health: database check failed: %r", exc)
            return False
        return True

    async def broker_ok(self) -> bool:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                return await self.fanout.ping()
        except TimeoutError:
            return False
