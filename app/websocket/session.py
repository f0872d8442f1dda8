"""The WebSocket protocol (SPEC §6) for one authenticated connection: one client event at a time,
each in its own service call (its own database session). No client input can end the loop except
a close; every failure is answered with an `error` event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from app.errors import AppError, as_app_error
from app.metrics import TYPING_THROTTLED
from app.models import Message, User
from app.realtime.envelope import Event, encode_event
from app.realtime.fanout import Fanout
from app.realtime.throttle import Throttle
from app.schemas.message import MessageCreate
from app.schemas.ws import (
    CLIENT_EVENT_TYPES,
    ClientEvent,
    EditMessageEvent,
    PingEvent,
    ReadEvent,
    RecallMessageEvent,
    SendMessageEvent,
    SyncEvent,
    TypingEvent,
    client_event_adapter,
)
from app.services.core.events import typing_event
from app.services.core.message_service import MessageService
from app.websocket.manager import Connection

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024


@dataclass(frozen=True)
class ProtocolServices:
    """What the protocol calls: messages, fan-out (typing), the typing throttle."""

    messages: MessageService
    fanout: Fanout
    typing: Throttle


class ProtocolSession:
    def __init__(self, services: ProtocolServices, user: User, connection: Connection) -> None:
        self.services = services
        self.user = user
        self.connection = connection
        self._handlers: dict[type[Any], Callable[[Any], Awaitable[None]]] = {
            SendMessageEvent: self.handle_send_message,
            EditMessageEvent: self.handle_edit_message,
            RecallMessageEvent: self.handle_recall_message,
            SyncEvent: self.handle_sync,
            TypingEvent: self.handle_typing,
            ReadEvent: self.handle_read,
            PingEvent: self.handle_ping,
        }

    def reply(self, event: Event) -> None:
        self.connection.send(encode_event(event))

    def error(self, code: str, message: str, **extra: Any) -> None:
        self.reply({"type": "error", "code": code, "message": message, **extra})

    def greet(self) -> None:
        self.reply(
            {
                "type": "connected",
                "user_id": self.user.user_id,
                "server_time": datetime.now(UTC).isoformat(),
            }
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
            group_id=event.group_id,
            content=event.content,
            client_msg_id=event.client_msg_id,
            reply_to=event.reply_to,
            mentions=event.mentions,
            attachment_id=event.attachment_id,
        )
        result = await self.services.messages.send_message(
            self.user, body, connection_id=self.connection.id
        )
        self._sent(event.client_msg_id, result.message)

    async def handle_edit_message(self, event: EditMessageEvent) -> None:
        changed = await self.services.messages.edit_message(
            self.user,
            event.message_id,
            event.content,
            client_msg_id=event.client_msg_id,
            connection_id=self.connection.id,
        )
        self._sent(event.client_msg_id, changed.entry)

    async def handle_recall_message(self, event: RecallMessageEvent) -> None:
        changed = await self.services.messages.recall_message(
            self.user,
            event.message_id,
            client_msg_id=event.client_msg_id,
            connection_id=self.connection.id,
        )
        self._sent(event.client_msg_id, changed.entry)

    def _sent(self, client_msg_id: str | None, entry: Message) -> None:
        """`message_sent`: the log entry the client's send, edit or recall appended."""
        self.reply(
            {
                "type": "message_sent",
                "client_msg_id": client_msg_id,
                "message": self.services.messages.payload(entry),
            }
        )

    async def handle_sync(self, event: SyncEvent) -> None:
        for group_id, after_seq in event.cursors.items():
            try:
                page = await self.services.messages.get_messages_page(
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
        """Forwarded to the group's other members, at most once per throttle interval per
        user and group (a flood of typing must not fill anyone's socket queue)."""
        fanout, user_id = self.services.fanout, self.user.user_id
        # The routes know this user's groups; one just joined may not have reached them yet.
        if not fanout.routes.is_member(
            user_id, event.group_id
        ) and not await self.services.messages.is_member(user_id, event.group_id):
            self.error("NOT_A_MEMBER", "You are not a member of this group")
            return
        if not await self.services.typing.allow(f"{user_id}:{event.group_id}"):
            TYPING_THROTTLED.inc()
            return
        fanout.to_group(
            event.group_id, typing_event(event.group_id, user_id), exclude_user_id=user_id
        )

    async def handle_read(self, event: ReadEvent) -> None:
        await self.services.messages.mark_read(
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
