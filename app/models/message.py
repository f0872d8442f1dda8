"""The `messages` table: a group's log. `seq` is dense per group; (`from_user_id`,
`client_msg_id`) is the idempotency key of a send. EDIT and RECALL entries name the message they
change (`target_message_id`); the target's row holds its current state (`edited_at`,
`recalled_at`, and the content: empty once recalled)."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import LONG_TEXT, BaseModel, UTCDateTime
from app.models.enums import MessageType, UserRole, check_in


class Message(BaseModel):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("group_id", "seq", name="uk_group_seq"),
        UniqueConstraint("from_user_id", "client_msg_id", name="uk_sender_client_msg"),
        Index("idx_messages_message_id", "message_id", unique=True),
        Index("idx_messages_group_id", "group_id"),
        Index("idx_from_user_id", "from_user_id"),
        Index("idx_created_at", "created_at"),
        Index("idx_group_created", "group_id", "created_at"),
        CheckConstraint(check_in("msg_type", MessageType), name="msg_type"),
        CheckConstraint(check_in("from_user_role", UserRole), name="from_user_role"),
    )

    message_id: Mapped[str] = mapped_column(String(64), nullable=False)
    group_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("groups.group_id", ondelete="CASCADE"), nullable=False
    )
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    from_user_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.user_id"), nullable=False
    )
    from_user_role: Mapped[str] = mapped_column(String(16), nullable=False)
    msg_type: Mapped[str] = mapped_column(String(16), nullable=False)
    msg_content: Mapped[str] = mapped_column(LONG_TEXT, nullable=False)
    client_msg_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reply_to: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # NULL (not `[]`) when nobody is mentioned: a plain send writes and reads nothing more.
    mentions: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    target_message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attachment: Mapped[dict[str, Any] | None] = mapped_column(
        JSON(none_as_null=True), nullable=True
    )
    """IMAGE / FILE: the attachment's metadata (SPEC §12, no URLs: those are signed per
    response); NULL otherwise, and once recalled."""
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    recalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
