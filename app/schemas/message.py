"""Message schemas for sending, changing, reading and listing."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from app.models.enums import MessageType, UserRole
from app.schemas.common import ID_PATTERN, StrictRequest

MAX_CONTENT_LENGTH = 5000
MAX_MENTIONS = 50
MAX_SEQ = 2**31 - 1
"""The largest seq (an INTEGER column): larger cursors and pages are 422, not a database error."""
GroupIdField = Field(min_length=1, max_length=64)
ClientMsgIdField = Field(default=None, min_length=1, max_length=64)
Identifier = Annotated[str, Field(pattern=ID_PATTERN)]
"""A `msg_…` or `user_…` id in a body."""
ContentField = Field(min_length=1, max_length=MAX_CONTENT_LENGTH)
CaptionField = Field(default="", max_length=MAX_CONTENT_LENGTH, validate_default=True)
"""A send's text: required, unless the send carries an attachment (then an optional caption).
Declared after `attachment_id`, so that `text_or_caption` sees it."""


def text_or_caption(content: str, info: ValidationInfo) -> str:
    """An empty `content` is refused unless the send carries an attachment."""
    if not content and info.data.get("attachment_id") is None:
        # The error a plain min_length=1 gives, as before attachments existed.
        raise PydanticCustomError(
            "string_too_short",
            "String should have at least 1 character (unless an attachment_id is given)",
            {"min_length": 1},
        )
    return content


class MessageCreate(StrictRequest):
    group_id: str = GroupIdField
    attachment_id: Identifier | None = None
    """An unsent upload of the same group (SPEC §12, else 422 INVALID_ATTACHMENT): the message
    is IMAGE or FILE."""
    content: str = CaptionField
    """The text (1..5000), or an attachment's caption (0..5000)."""
    client_msg_id: str | None = ClientMsgIdField
    reply_to: Identifier | None = None
    """A message of the same group (else 422 INVALID_REPLY)."""
    mentions: list[Identifier] = Field(default_factory=list)
    """Members of the group, at most `MAX_MENTIONS` (else 422 INVALID_MENTION)."""

    _text_or_caption = field_validator("content")(text_or_caption)


class MessageEdit(StrictRequest):
    content: str = ContentField


class MessageResponse(BaseModel):
    """A message in its current state (an edited message shows its latest content; a recalled
    one, and the EDIT entries that target it, an empty content)."""

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
    reply_to: str | None = None
    mentions: list[str] = Field(default_factory=list)
    attachment: dict[str, Any] | None = None
    """SPEC §12: {attachment_id, name, mime, size, width?, height?, url, thumbnail_url?}."""
    target_message_id: str | None = None
    """The message an EDIT or RECALL entry changes."""
    edited_at: datetime | None = None
    recalled_at: datetime | None = None

    @field_validator("mentions", mode="before")
    @classmethod
    def _none_is_nobody(cls, value: Any) -> Any:
        return [] if value is None else value


class MessageListResponse(BaseModel):
    messages: list[MessageResponse]
    total: int
    page: int
    page_size: int


class MessageCursorResponse(BaseModel):
    messages: list[MessageResponse]
    has_more: bool


class RevisionResponse(BaseModel):
    """A content the message had before a change."""

    model_config = ConfigDict(from_attributes=True)

    msg_content: str
    change_type: MessageType
    """EDIT or RECALL: what replaced this content."""
    change_message_id: str
    """The EDIT or RECALL entry that replaced it."""
    changed_by: str
    replaced_at: datetime = Field(validation_alias="created_at")


class MessageRevisionsResponse(BaseModel):
    message: MessageResponse
    """The message as it is now."""
    revisions: list[RevisionResponse]
    """Earlier contents, oldest first."""


class ReadMark(StrictRequest):
    group_id: str = GroupIdField
    seq: int = Field(ge=0)


class ReadMarkResponse(BaseModel):
    group_id: str
    user_id: str
    last_read_seq: int
