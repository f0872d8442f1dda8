"""Message schemas for sending, reading and listing."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.models.enums import MessageType, UserRole
from app.schemas.common import StrictRequest

MAX_CONTENT_LENGTH = 5000
MAX_SEQ = 2**31 - 1
"""The largest seq (an INTEGER column): larger cursors and pages are 422, not a database error."""
GroupIdField = Field(min_length=1, max_length=64)
ClientMsgIdField = Field(default=None, min_length=1, max_length=64)


class MessageCreate(StrictRequest):
    group_id: str = GroupIdField
    content: str = Field(min_length=1, max_length=MAX_CONTENT_LENGTH)
    client_msg_id: str | None = ClientMsgIdField


class MessageResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    message_id: str
    group_id: str
    seq: int
    from_user_id: str
    from_user_role: UserRole
    msg_type: MessageType
    msg_content: str
    client_msg_id: str | None
    created_at: datetime


class MessageListResponse(BaseModel):
    messages: list[MessageResponse]
    total: int
    page: int
    page_size: int


class MessageCursorResponse(BaseModel):
    messages: list[MessageResponse]
    has_more: bool


class ReadMark(StrictRequest):
    group_id: str = GroupIdField
    seq: int = Field(ge=0)


class ReadMarkResponse(BaseModel):
    group_id: str
    user_id: str
    last_read_seq: int
