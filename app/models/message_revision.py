"""The `message_revisions` table: a message's content as it was before each edit or recall
(SPEC §11: a medical record is never silently rewritten). Written in the change's transaction;
read only with the service key."""

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import LONG_TEXT, BaseModel
from app.models.enums import CHANGE_TYPES, check_in


class MessageRevision(BaseModel):
    __tablename__ = "message_revisions"
    __table_args__ = (
        Index("idx_message_revisions_message_id", "message_id"),
        CheckConstraint(check_in("change_type", CHANGE_TYPES), name="change_type"),
    )

    message_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("messages.message_id", ondelete="CASCADE"), nullable=False
    )
    """The changed message."""
    change_message_id: Mapped[str] = mapped_column(String(64), nullable=False)
    """The EDIT or RECALL entry that replaced this content."""
    change_type: Mapped[str] = mapped_column(String(16), nullable=False)
    changed_by: Mapped[str] = mapped_column(String(64), ForeignKey("users.user_id"), nullable=False)
    msg_content: Mapped[str] = mapped_column(LONG_TEXT, nullable=False)
    """The content before the change."""
