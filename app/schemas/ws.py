"""WebSocket client events (SPEC §6), validated as one discriminated union."""

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter, field_validator

from app.schemas.common import StrictRequest
from app.schemas.message import (
    MAX_SEQ,
    CaptionField,
    ClientMsgIdField,
    ContentField,
    GroupIdField,
    Identifier,
    text_or_caption,
)

MAX_SYNC_GROUPS = 500


GroupKey = Annotated[str, Field(min_length=1, max_length=64)]
SeenSeq = Annotated[int, Field(ge=0, le=MAX_SEQ)]


class SendMessageEvent(StrictRequest):
    type: Literal["send_message"]
    group_id: str = GroupIdField
    attachment_id: Identifier | None = None
    content: str = CaptionField
    client_msg_id: str | None = ClientMsgIdField
    reply_to: Identifier | None = None
    mentions: list[Identifier] = Field(default_factory=list)

    _text_or_caption = field_validator("content")(text_or_caption)


class EditMessageEvent(StrictRequest):
    type: Literal["edit_message"]
    message_id: Identifier
    content: str = ContentField
    client_msg_id: str | None = ClientMsgIdField


class RecallMessageEvent(StrictRequest):
    type: Literal["recall_message"]
    message_id: Identifier
    client_msg_id: str | None = ClientMsgIdField


class SyncEvent(StrictRequest):
    type: Literal["sync"]
    cursors: dict[GroupKey, SeenSeq] = Field(max_length=MAX_SYNC_GROUPS)


class TypingEvent(StrictRequest):
    type: Literal["typing"]
    group_id: str = GroupIdField


class ReadEvent(StrictRequest):
    type: Literal["read"]
    group_id: str = GroupIdField
    seq: int = Field(ge=0)


class PingEvent(StrictRequest):
    type: Literal["ping"]


ClientEvent = Annotated[
    SendMessageEvent
    | EditMessageEvent
    | RecallMessageEvent
    | SyncEvent
    | TypingEvent
    | ReadEvent
    | PingEvent,
    Field(discriminator="type"),
]
client_event_adapter: TypeAdapter[ClientEvent] = TypeAdapter(ClientEvent)
CLIENT_EVENT_TYPES = frozenset(
    {"send_message", "edit_message", "recall_message", "sync", "typing", "read", "ping"}
)
