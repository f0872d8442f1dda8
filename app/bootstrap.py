"""The only wiring: builds a server process and a Celery worker process from the same parts.

`build_core` makes what both need (database, Redis, broker and fan-out, the writer and the core
services, the AI assistant user); `start_server` adds sockets, presence, accounts and invites
(with the `session_revoked` signal closing a revoked session's sockets) and the AI layer with its
dispatcher; `start_worker` adds only the AI interaction service. Layers beside the core (the AI)
are plugged in here through the core's hooks; the core never imports them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import timedelta

from redis.asyncio import Redis

from app.config import Settings
from app.db.database import create_engine
from app.db.session import Database
from app.errors import DATABASE_ERRORS
from app.notifications.hook import Online
from app.notifications.layer import NotificationLayer
from app.realtime import create_broker
from app.realtime.fanout import Fanout, GroupsOfUsers, LocalDelivery, NoLocalConnections
from app.realtime.presence import REFRESH_SECONDS, MemoryPresence, PresenceStore, RedisPresence
from app.realtime.slots import MemorySlots, RedisSlots, SlotStore
from app.realtime.throttle import MemoryThrottle, RedisThrottle, Throttle
from app.repositories.group_member_repository import GroupMemberRepository
from app.services.ai.ai_interaction_service import AIInteractionService
from app.services.ai.dispatcher import CeleryDispatcher, Dispatcher, InProcessDispatcher
from app.services.ai.layer import AILayer, AIParts, AIWorker
from app.services.ai.records_service import AIRecordsService
from app.services.attachments.layer import AttachmentsLayer, absolute_link
from app.services.core import login_throttle
from app.services.core.account_service import AccountService
from app.services.core.auth_service import TokenService
from app.services.core.group_service import GroupService
from app.services.core.health_service import HealthService
from app.services.core.history_cache import HistoryCache
from app.services.core.hooks import Hooks
from app.services.core.invite_service import InviteService, invite_url
from app.services.core.login_throttle import LoginThrottle
from app.services.core.message_changes import ChangeWindows
from app.services.core.message_service import MessageService
from app.services.core.message_writer import MessageWriter
from app.services.core.passwords import Passwords
from app.services.core.presence_service import PresenceService
from app.services.core.rate_limit import WINDOW_SECONDS, RateLimiter
from app.services.core.session_service import SESSION_REVOKED, SessionService
from app.services.core.user_service import UserService
from app.websocket.handler import CLOSE_UNAUTHORIZED, SocketServices
from app.websocket.manager import ConnectionManager
from app.websocket.session import ProtocolServices

logger = logging.getLogger(__name__)

TYPING_INTERVAL_SECONDS = 2.0
AI_BACKLOG_PER_SLOT = 16
"""The in-process AI dispatcher holds this many waiting records per concurrent call."""


@dataclass
class Core:
    """What a server and a worker share."""

    settings: Settings
    db: Database
    redis: Redis | None
    fanout: Fanout
    hooks: Hooks
    writer: MessageWriter
    tokens: TokenService
    passwords: Passwords
    sessions: SessionService
    users: UserService
    assistant_user_id: str | None

    def ai_parts(self, attachments: AttachmentsLayer) -> AIParts:
        if self.assistant_user_id is None:
            raise RuntimeError("the AI layer is off (AI_ENABLED=false)")
        return AIParts(
            self.settings,
            self.db,
            self.writer,
            self.fanout,
            self.assistant_user_id,
            image_url=absolute_link(self.settings),
            image_data=attachments.service.image_for_ai,
        )

    async def stop(self) -> None:
        await self.writer.stop()
        await self.fanout.stop()
        await self.fanout.broker.close()
        if self.redis is not None:
            await self.redis.aclose()
        self.passwords.close()
        await self.db.dispose()


async def build_core(settings: Settings, local: LocalDelivery) -> Core:
    db = Database(create_engine(settings))
    redis = Redis.from_url(settings.broker_url, socket_timeout=2) if settings.uses_redis else None
    broker = create_broker(settings.broker_url, f"{settings.redis_prefix}:events")
    fanout = Fanout(broker, local, _groups_of_users(db))
    hooks = Hooks()
    tokens = TokenService(settings)
    passwords = Passwords()
    sessions = SessionService(db, tokens, fanout, refresh_days=settings.refresh_token_expire_days)
    users = UserService(
        db,
        tokens,
        sessions,
        passwords,
        registration_open=settings.registration_open,
        doctors_need_invite=settings.doctor_signup == "invite",
    )
    assistant = (
        await users.ensure_ai_assistant(settings.ai_assistant_name) if settings.ai_enabled else None
    )
    return Core(
        settings=settings,
        db=db,
        redis=redis,
        fanout=fanout,
        hooks=hooks,
        writer=MessageWriter(db, fanout, hooks),
        tokens=tokens,
        passwords=passwords,
        sessions=sessions,
        users=users,
        assistant_user_id=assistant.user_id if assistant is not None else None,
    )


def _groups_of_users(db: Database) -> GroupsOfUsers:
    async def groups_of(user_ids: Collection[str]) -> dict[str, set[str]]:
        async with db.read() as session:
            return await GroupMemberRepository(session).groups_of_users(user_ids)

    return groups_of


@dataclass
class Server:
    """A server process: the services its routers and sockets call, and their lifecycle."""

    core: Core
    connections: ConnectionManager
    messages: MessageService
    groups: GroupService
    invites: InviteService
    accounts: AccountService
    presence: PresenceService
    ai_records: AIRecordsService
    health: HealthService
    sockets: SocketServices
    attachments: AttachmentsLayer
    ai: AILayer | None = None
    notifications: NotificationLayer | None = None
    background: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def users(self) -> UserService:
        return self.core.users

    @property
    def tokens(self) -> TokenService:
        return self.core.tokens

    @property
    def sessions(self) -> SessionService:
        return self.core.sessions

    async def stop(self) -> None:
        if self.ai is not None:
            await self.ai.stop()
        if self.notifications is not None:
            await self.notifications.stop()
        await self.connections.close_all()
        await self.attachments.stop()
        for task in self.background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.core.stop()


async def start_server(settings: Settings) -> Server:
    connections = ConnectionManager(settings.ws_max_connections, settings.ws_send_queue_size)
    core = await build_core(settings, connections)
    presence_store, slots, typing = _redis_backed_stores(settings, core.redis)
    presence = PresenceService(
        core.db,
        presence_store,
        core.fanout,
        per_user_limit=settings.ws_max_connections_per_user,
    )
    messages = MessageService(
        core.db,
        core.writer,
        core.fanout,
        RateLimiter(settings.rate_limit_messages_per_minute, slots),
        ChangeWindows(
            edit=timedelta(minutes=settings.message_edit_window_minutes),
            recall=timedelta(minutes=settings.message_recall_window_minutes),
        ),
        HistoryCache(settings.history_cache_rows),
    )
    groups = GroupService(
        core.db,
        core.writer,
        core.fanout,
        presence,
        core.hooks,
        assistant_user_id=core.assistant_user_id,
    )
    server = Server(
        core=core,
        connections=connections,
        messages=messages,
        groups=groups,
        invites=InviteService(core.db, groups),
        accounts=AccountService(
            core.db,
            core.users,
            core.sessions,
            core.passwords,
            _login_throttle(settings, core.redis),
        ),
        presence=presence,
        ai_records=AIRecordsService(core.db),
        health=HealthService(core.db, core.fanout, lambda: connections.count),
        sockets=SocketServices(
            users=core.users,
            presence=presence,
            connections=connections,
            protocol=ProtocolServices(messages, core.fanout, typing),
            per_user_limit=settings.ws_max_connections_per_user,
        ),
        attachments=AttachmentsLayer(settings, core.db),
    )
    server.attachments.install(core.hooks)
    server.attachments.start()
    core.fanout.on_signal(SESSION_REVOKED, _session_revoked(core.sessions, connections))
    core.fanout.on_resubscribed(_recheck_sessions(core.sessions, connections))
    await core.fanout.start()
    server.background.append(
        asyncio.create_task(_refresh_presence(presence, connections), name="presence-refresh")
    )
    if settings.doctor_signup == "invite":
        await _log_bootstrap_invite(settings, server.invites)
    if settings.ai_enabled:
        server.ai = AILayer(
            core.ai_parts(server.attachments),
            _dispatcher_factory(settings),
            _copilot_slots(settings, core.redis),
        )
        core.hooks.add_message_hook(server.ai.hook)
        core.hooks.add_group_hook(server.ai.handover)
        server.ai.start()
    server.notifications = _install_notifications(
        core, presence_store.online, server.ai.service if server.ai is not None else None
    )
    return server


def _install_notifications(
    core: Core, online: Online, ai: AIInteractionService | None, *, deliver: bool = True
) -> NotificationLayer:
    """Webhooks and Web Push (SPEC §13), plugged in through the core's hooks and the AI
    layer's failure listeners; built always (its routes answer when it is off)."""
    layer = NotificationLayer(core.settings, core.db, core.writer, online, deliver=deliver)
    if layer.active:
        core.hooks.add_message_hook(layer.hook)
        core.hooks.add_group_hook(layer.hook)
        if ai is not None:
            ai.failure_listeners.append(layer.hook)
        layer.start()
    return layer


def _session_revoked(
    sessions: SessionService, connections: ConnectionManager
) -> Callable[[tuple[str, ...]], Awaitable[None]]:
    """On every instance: refuse the sessions' tokens at once and close their sockets (4401)."""

    async def handle(session_ids: tuple[str, ...]) -> None:
        sessions.forget(session_ids)
        closed = connections.close_sessions(session_ids, CLOSE_UNAUTHORIZED, "session ended")
        if closed:
            logger.info("closed %d socket(s) of revoked sessions", closed)

    return handle


def _recheck_sessions(
    sessions: SessionService, connections: ConnectionManager
) -> Callable[[], Awaitable[None]]:
    """After a broker outage: a revocation signal may have been lost, so read the state of
    every local socket's session afresh and close the ended ones (4401)."""

    async def recheck() -> None:
        ended = await sessions.ended_among(connections.session_ids())
        closed = connections.close_sessions(ended, CLOSE_UNAUTHORIZED, "session ended")
        if closed:
            logger.info("closed %d socket(s) of sessions ended during a broker outage", closed)

    return recheck


async def _log_bootstrap_invite(settings: Settings, invites: InviteService) -> None:
    """While no doctor exists, log the one bootstrap doctor-invite URL (every instance that
    starts meanwhile logs the same one), so the first doctor can sign up."""
    try:
        code = await invites.ensure_bootstrap()
    except DATABASE_ERRORS as exc:
        # Start anyway (like every other part, the server recovers when the database returns).
        logger.warning("could not check for a first doctor at start-up: %r", exc)
        return
    if code is not None:
        logger.warning(
            "No doctor has signed up yet: the first doctor signs up at http://%s:%d%s",
            settings.host,
            settings.port,
            invite_url(code),
        )


def _login_throttle(settings: Settings, redis: Redis | None) -> LoginThrottle:
    window = login_throttle.WINDOW_SECONDS
    per_login, per_ip = login_throttle.FAILURES_PER_LOGIN, login_throttle.FAILURES_PER_IP
    if redis is None:
        return LoginThrottle(MemorySlots(per_login, window), MemorySlots(per_ip, window))
    prefix = settings.redis_prefix
    return LoginThrottle(
        RedisSlots(redis, prefix, per_login, window), RedisSlots(redis, prefix, per_ip, window)
    )


def _redis_backed_stores(
    settings: Settings, redis: Redis | None
) -> tuple[PresenceStore, SlotStore, Throttle]:
    per_minute = settings.rate_limit_messages_per_minute
    if redis is None:
        return (
            MemoryPresence(),
            MemorySlots(per_minute, WINDOW_SECONDS),
            MemoryThrottle(TYPING_INTERVAL_SECONDS),
        )
    prefix = settings.redis_prefix
    return (
        RedisPresence(redis, prefix),
        RedisSlots(redis, prefix, per_minute, WINDOW_SECONDS),
        RedisThrottle(redis, prefix, "typing", TYPING_INTERVAL_SECONDS),
    )


def _copilot_slots(settings: Settings, redis: Redis | None) -> SlotStore:
    """The copilot's per-doctor limit (`AI_COPILOT_PER_MINUTE`), shared by every instance."""
    per_minute = settings.ai_copilot_per_minute
    if redis is None:
        return MemorySlots(per_minute, WINDOW_SECONDS)
    return RedisSlots(redis, f"{settings.redis_prefix}:copilot", per_minute, WINDOW_SECONDS)


def _dispatcher_factory(settings: Settings) -> Callable[[AIInteractionService], Dispatcher]:
    def make(service: AIInteractionService) -> Dispatcher:
        if settings.ai_worker == "celery":
            # Imported only in this shape: Celery is slow to import and the embedded shape
            # never needs it.
            from app.tasks.celery_app import create_producer

            return CeleryDispatcher(create_producer(settings).send_task)
        concurrency = settings.ai_concurrency
        return InProcessDispatcher(
            service.process_ai_request,
            service.answer,
            concurrency,
            concurrency * AI_BACKLOG_PER_SLOT,
        )

    return make


async def _refresh_presence(presence: PresenceService, connections: ConnectionManager) -> None:
    while True:
        await asyncio.sleep(REFRESH_SECONDS)
        await presence.refresh(connections.pairs())


@dataclass
class Worker:
    """A Celery worker process: it publishes events but holds no sockets."""

    core: Core
    ai: AIWorker
    attachments: AttachmentsLayer
    """Read-only here (images for the AI); the server runs the clean-up."""
    notifications: NotificationLayer | None = None

    async def stop(self) -> None:
        await self.ai.stop()
        await self.attachments.stop()
        if self.notifications is not None:
            await self.notifications.stop()
        await self.core.stop()


async def start_worker(settings: Settings) -> Worker:
    core = await build_core(settings, NoLocalConnections())
    await core.fanout.start(subscribe=False)
    attachments = AttachmentsLayer(settings, core.db)
    worker = Worker(core, AIWorker(core.ai_parts(attachments)), attachments)
    # The worker's appends (AI replies) and failures are reported like a server's; the servers'
    # deliverers send the rows it stages.
    presence, _, _ = _redis_backed_stores(settings, core.redis)
    worker.notifications = _install_notifications(
        core, presence.online, worker.ai.service, deliver=False
    )
    return worker
