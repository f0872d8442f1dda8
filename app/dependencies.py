"""Composition root: builds every long-lived object once per process and wires the layers.

The AI layer is plugged in here (not by the core), and only when `AI_ENABLED` is on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy import text

from app.broker import Broker, create_broker
from app.broker.presence import MemoryPresence, PresenceStore, RedisPresence
from app.config import Settings
from app.db.database import create_engine
from app.db.session import Database
from app.services.ai.records_service import AIRecordsService
from app.services.ai.setup import AILayer, install_ai_layer
from app.services.core.auth_service import TokenService
from app.services.core.group_service import GroupService
from app.services.core.message_service import MessageService
from app.services.core.rate_limit import MemorySlots, RateLimiter, RedisSlots
from app.services.core.user_service import UserService
from app.services.core.websocket_service import RealtimeService
from app.websocket.manager import ConnectionManager

logger = logging.getLogger(__name__)

HEALTH_TIMEOUT = 2.0
PRESENCE_REFRESH_SECONDS = 20.0


@dataclass
class Container:
    settings: Settings
    db: Database
    redis: Redis | None
    broker: Broker
    presence: PresenceStore
    connections: ConnectionManager
    realtime: RealtimeService
    tokens: TokenService
    users: UserService
    messages: MessageService
    groups: GroupService
    ai_records: AIRecordsService
    background: list[asyncio.Task[None]] = field(default_factory=list)
    ai: AILayer | None = None

    async def start(self) -> None:
        await self.realtime.start()
        self.background.append(asyncio.create_task(self._refresh_presence(), name="presence"))
        if self.settings.ai_enabled:
            self.ai = await install_ai_layer(self)

    async def stop(self) -> None:
        if self.ai is not None:
            await self.ai.stop()
        await self.connections.close_all()
        await self.messages.writer.stop()
        for task in self.background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.realtime.stop()
        await self.broker.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()

    async def _refresh_presence(self) -> None:
        while True:
            await asyncio.sleep(PRESENCE_REFRESH_SECONDS)
            await self.presence.refresh(self.connections.pairs())

    async def database_ok(self) -> bool:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT), self.db.read() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:
            logger.warning("health: database check failed: %r", exc)
            return False
        return True

    async def broker_ok(self) -> bool:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                return await self.realtime.broker_ok()
        except TimeoutError:
            return False


def build_container(settings: Settings) -> Container:
    db = Database(create_engine(settings))
    redis = Redis.from_url(settings.broker_url, socket_timeout=2) if settings.uses_redis else None
    broker = create_broker(settings.broker_url, f"{settings.redis_prefix}:events")
    presence: PresenceStore = (
        RedisPresence(redis, settings.redis_prefix) if redis is not None else MemoryPresence()
    )
    per_minute = settings.rate_limit_messages_per_minute
    slots = (
        RedisSlots(redis, settings.redis_prefix, per_minute)
        if redis is not None
        else MemorySlots(per_minute)
    )
    connections = ConnectionManager(settings.ws_max_connections, settings.ws_send_queue_size)
    realtime = RealtimeService(db, broker, connections)
    tokens = TokenService(settings)
    messages = MessageService(db, realtime, RateLimiter(per_minute, slots))
    return Container(
        settings=settings,
        db=db,
        redis=redis,
        broker=broker,
        presence=presence,
        connections=connections,
        realtime=realtime,
        tokens=tokens,
        users=UserService(db, tokens, registration_open=settings.registration_open),
        messages=messages,
        groups=GroupService(db, realtime, messages, presence),
        ai_records=AIRecordsService(db),
    )
