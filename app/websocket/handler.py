"""Serving one WebSocket (`/ws/{user_id}?token=…`): refuse before any data flows when the token
is bad or its session has ended (4401), the database is unreachable or this instance is full
(1013; also when the user's groups cannot be read to route their events here), or the user
already holds `WS_MAX_CONNECTIONS_PER_USER` sockets (4429); then greet, run the protocol, and
clean up. A socket remembers its session: revoking it closes the socket 4401.

Refusals are accept-then-close rather than a refused handshake: browsers report a refused
handshake as a bare 1006, indistinguishable from "server down", while a close code tells them
what to do (sign in again, retry later).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass

from starlette.websockets import WebSocket

from app.errors import AppError, as_app_error
from app.metrics import WS_REFUSED
from app.realtime.fanout import Fanout
from app.services.core.presence_service import PresenceService
from app.services.core.user_service import Principal, UserService
from app.websocket.manager import ConnectionManager
from app.websocket.session import ProtocolServices, ProtocolSession
from app.websocket.transport import transport_aborter

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_MANY = 4429
CLOSE_TRY_LATER = 1013
ATTACH_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class SocketServices:
    users: UserService
    presence: PresenceService
    connections: ConnectionManager
    protocol: ProtocolServices
    per_user_limit: int


async def handle_connection(websocket: WebSocket, user_id: str, services: SocketServices) -> None:
    try:
        principal = await _authenticate(websocket, user_id, services.users)
    except Exception as exc:
        error = as_app_error(exc)
        if error is None or error.http_status != 503:
            raise
        await _refuse(websocket, CLOSE_TRY_LATER, "service unavailable")
        return
    if principal is None:
        await _refuse(websocket, CLOSE_UNAUTHORIZED, "invalid token")
        return
    user = principal.user
    connections = services.connections
    if connections.is_full():
        await _refuse(websocket, CLOSE_TRY_LATER, "server full")
        return
    if connections.count_for(user.user_id) >= services.per_user_limit:
        await _refuse(websocket, CLOSE_TOO_MANY, "too many connections")
        return
    connection_id = uuid.uuid4().hex
    admission = await services.presence.admit(user.user_id, connection_id)
    if not admission.accepted:
        await _refuse(websocket, CLOSE_TOO_MANY, "too many connections")
        return
    fanout = services.protocol.fanout
    connection = None
    try:
        await websocket.accept()
        if not await _attach(fanout, user.user_id):
            await _close(websocket, CLOSE_TRY_LATER, "service unavailable")
            return
        connection = connections.open(
            websocket,
            user.user_id,
            connection_id,
            transport_aborter(),
            session_id=principal.session_id,
        )
        session = ProtocolSession(services.protocol, user, connection)
        session.greet()
        await services.presence.arrived(user.user_id, admission)
        await session.run()
    finally:
        # Presence first: once the connection is released, its user's presence is settled.
        await services.presence.leave(user.user_id, connection_id)
        if connection is not None:
            await connections.release(connection)
        await fanout.detach(user.user_id)


async def _attach(fanout: Fanout, user_id: str) -> bool:
    """Route the user's group events here before greeting: a greeted socket misses nothing."""
    try:
        await asyncio.wait_for(fanout.attach(user_id), ATTACH_TIMEOUT_SECONDS)
    except Exception as exc:
        logger.warning("routes of %s not loaded, socket closed 1013: %r", user_id, exc)
        return False
    return True


async def _authenticate(websocket: WebSocket, user_id: str, users: UserService) -> Principal | None:
    token = websocket.query_params.get("token")
    if not token:
        return None
    try:
        principal = await users.authenticate(token)
    except AppError:
        return None
    return principal if principal.user.user_id == user_id else None


async def _refuse(websocket: WebSocket, code: int, reason: str) -> None:
    await websocket.accept()
    await _close(websocket, code, reason)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    WS_REFUSED.labels(str(code)).inc()
    await websocket.close(code=code, reason=reason)
