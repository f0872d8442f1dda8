"""The WebSocket protocol loop (SPEC §6): authenticate before accept, then one client event at a
time, each in its own service call (its own session). No client input can end the loop except a
close; every failure is answered with an `error` event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from app.dependencies import Container
from app.errors import AppError, as_app_error
from app.models import User
from app.schemas.message import MessageCreate
from app.schemas.ws import (
    CLIENT_EVENT_TYPES,
    ClientEvent,
    PingEvent,
    ReadEvent,
    SendMessageEvent,
    SyncEvent,
    TypingEvent,
    client_event_adapter,
)
from app.services.core.events import message_payload
from app.websocket.manager import Connection

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024
CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_LATER = 1013


def _dumps(event: dict[str, Any]) -> str:
    return orjson.dumps(event, option=orjson.OPT_UTC_Z).decode()


async def handle_connection(websocket: WebSocket, user_id: str, container: Container) -> None:
    """Serve one socket: refuse a bad token before any data, then run the event loop."""
    try:
        user = await _authenticate(websocket, user_id, container)
    except Exception as exc:
        error = as_app_error(exc)
        if error is None or error.http_status != 503:
            raise
        # The database is unreachable: "come back later", not "sign in again".
        await websocket.accept()
        await websocket.close(code=CLOSE_TRY_LATER, reason="service unavailable")
        return
    if user is None:
        # Accept-then-close rather than a 403 handshake: browsers report a refused handshake
        # as a bare 1006, indistinguishable from "server down"; 4401 tells them to sign in.
        await websocket.accept()
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason="invalid token")
        return
    if container.connections.is_full():
        await websocket.accept()
        await websocket.close(code=CLOSE_TRY_LATER, reason="server full")
        return
    await websocket.accept()
    connection = container.connections.open(websocket, user.user_id)
    session = ProtocolSession(container, user, connection)
    try:
        await session.on_open()
        await session.run()
    finally:
        await container.connections.release(connection)
        await session.on_close()


async def _authenticate(websocket: WebSocket, user_id: str, container: Container) -> User | None:
    token = websocket.query_params.get("token")
    if not token:
        return None
    try:
        user = await container.users.authenticate(token)
    except AppError:
        return None
    return user if user.user_id == user_id else None


class ProtocolSession:
    """One authenticated connection's conversation with the server."""

    def __init__(self, container: Container, user: User, connection: Connection) -> None:
        self.container = container
        self.user = user
        self.connection = connection
        self._handlers: dict[type[Any], Callable[[Any], Awaitable[None]]] = {
            SendMessageEvent: self.handle_send_message,
            SyncEvent: self.handle_sync,
            TypingEvent: self.handle_typing,
            ReadEvent: self.handle_read,
            PingEvent: self.handle_ping,
        }

    def reply(self, event: dict[str, Any]) -> None:
        self.connection.send(_dumps(event))

    def error(self, code: str, message: str, **extra: Any) -> None:
        self.reply({"type": "error", "code": code, "message": message, **extra})

    async def on_open(self) -> None:
        self.reply(
            {
                "type": "connected",
                "user_id": self.user.user_id,
                "server_time": datetime.now(UTC).isoformat(),
            }
        )
        try:
            if await self.container.presence.connect(self.user.user_id, self.connection.id):
                await self._announce_presence(online=True)
        except Exception as exc:  # presence is best effort; the socket works without it
            logger.warning("presence update for %s failed: %r", self.user.user_id, exc)

    async def on_close(self) -> None:
        try:
            if await self.container.presence.disconnect(self.user.user_id, self.connection.id):
                await self._announce_presence(online=False)
        except Exception as exc:  # the database may be down; presence expires by itself
            logger.warning("presence update for %s failed: %r", self.user.user_id, exc)

    async def _announce_presence(self, *, online: bool) -> None:
        peers = await self.container.groups.co_member_ids(self.user.user_id)
        peers.discard(self.user.user_id)
        if peers:
            self.container.realtime.send_message_to_users(
                peers, {"type": "presence", "user_id": self.user.user_id, "online": online}
            )

    async def run(self) -> None:
        websocket = self.connection.websocket
        while not self.connection.closed.is_set():
            try:
                frame = await websocket.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if frame["type"] == "websocket.disconnect":
                return
            await self.handle_frame(frame.get("text"), frame.get("bytes"))
            if websocket.client_state != WebSocketState.CONNECTED:
                return

    async def handle_frame(self, text: str | None, data: bytes | None) -> None:
        if text is None:
            self.error("UNSUPPORTED_FRAME", "Send JSON as text frames")
            return
        # A character is at most 4 bytes: only long frames pay for the encode.
        if len(text) * 4 > MAX_FRAME_BYTES and len(text.encode()) > MAX_FRAME_BYTES:
            self.error("FRAME_TOO_LARGE", f"Frames are limited to {MAX_FRAME_BYTES} bytes")
            return
        try:
            raw = orjson.loads(text)
        except orjson.JSONDecodeError:
            self.error("INVALID_JSON", "Frame is not valid JSON")
            return
        extra = _echo_fields(raw)
        event_type = raw.get("type") if isinstance(raw, dict) else None
        # Checked as a string first: an unhashable `type` (a list) must not crash the loop.
        if not isinstance(event_type, str) or event_type not in CLIENT_EVENT_TYPES:
            self.error("UNKNOWN_TYPE", "Unknown or missing event type", **extra)
            return
        try:
            event: ClientEvent = client_event_adapter.validate_python(raw)
        except ValidationError as exc:
            details = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
            self.error("VALIDATION_ERROR", "Invalid event", details=details, **extra)
            return
        await self._dispatch(event, extra)

    async def _dispatch(self, event: ClientEvent, extra: dict[str, Any]) -> None:
        try:
            await self._handlers[type(event)](event)
        except Exception as exc:
            error = as_app_error(exc)
            if error is None:
                logger.error("websocket event %s failed", event.type, exc_info=exc)
                self.error("INTERNAL_ERROR", "Internal server error", **extra)
                return
            payload: dict[str, Any] = {**extra}
            if error.details is not None:
                payload["details"] = error.details
            self.error(error.code, error.message, **payload)

    async def handle_send_message(self, event: SendMessageEvent) -> None:
        body = MessageCreate(
            group_id=event.group_id, content=event.content, client_msg_id=event.client_msg_id
        )
        result = await self.container.messages.send_message(
            self.user, body, connection_id=self.connection.id
        )
        self.reply(
            {
                "type": "message_sent",
                "client_msg_id": event.client_msg_id,
                "message": message_payload(result.message),
            }
        )

    async def handle_sync(self, event: SyncEvent) -> None:
        for group_id, after_seq in event.cursors.items():
            try:
                page = await self.container.messages.get_messages_page(
                    self.user, group_id, after_seq=after_seq
                )
            except AppError as exc:
                self.error(exc.code, exc.message, group_id=group_id)
                continue
            self.reply(
                {
                    "type": "sync_result",
                    "group_id": group_id,
                    "messages": page.messages,
                    "has_more": page.has_more,
                }
            )

    async def handle_typing(self, event: TypingEvent) -> None:
        if not await self.container.realtime.is_member(event.group_id, self.user.user_id):
            self.error("NOT_A_MEMBER", "You are not a member of this group")
            return
        self.container.realtime.send_message_to_group(
            event.group_id,
            {"type": "typing", "group_id": event.group_id, "user_id": self.user.user_id},
            exclude_user_id=self.user.user_id,
        )

    async def handle_read(self, event: ReadEvent) -> None:
        await self.container.messages.mark_read(
            self.user, event.group_id, event.seq, connection_id=self.connection.id
        )

    async def handle_ping(self, _event: PingEvent) -> None:
        self.reply({"type": "pong"})


def _echo_fields(raw: object) -> dict[str, str]:
    """`client_msg_id` and `group_id` of a frame, echoed in its error so a client can tell
    which send or which group the error is about."""
    echoed: dict[str, str] = {}
    if isinstance(raw, dict):
        for name in ("client_msg_id", "group_id"):
            value = raw.get(name)
            if isinstance(value, str) and 0 < len(value) <= 64:
                echoed[name] = value
    return echoed
