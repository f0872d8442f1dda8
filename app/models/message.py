"""The `messages` table. `seq` is dense per group; (`from_user_id`, `client_msg_id`) is the
idempotency key of a send."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import LONG_TEXT, BaseModel
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
