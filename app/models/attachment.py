"""The `attachments` table (SPEC §12): an upload's metadata; the bytes live in object storage,
keyed by `attachment_id`. `message_id` is NULL until one message of the group claims it (at most
one ever does); an upload never claimed is removed after `ATTACHMENT_ORPHAN_HOURS`."""

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import BaseModel


class Attachment(BaseModel):
    __tablename__ = "attachments"
    __table_args__ = (
        Index("idx_attachments_attachment_id", "attachment_id", unique=True),
        Index("idx_attachments_group_id", "group_id"),
        Index("idx_attachments_message_id", "message_id", unique=True),
        Index("idx_attachments_created_at", "created_at"),
    )

    attachment_id: Mapped[str] = mapped_column(String(64), nullable=False)
    group_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("groups.group_id", ondelete="CASCADE"), nullable=False
    )
    uploader_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.user_id"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    """The client's file name, as given (shown and used in Content-Disposition only)."""
    mime: Mapped[str] = mapped_column(String(100), nullable=False)
    """Sniffed from the bytes (after re-encoding, for images)."""
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    thumbnail_mime: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """Set for images: the thumbnail is stored beside the original."""
    thumbnail_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The one message that carries it (NULL: not sent yet)."""
