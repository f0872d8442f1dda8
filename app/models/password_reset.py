"""The `password_reset_codes` table: one-time codes a help desk hands to a user (stored hashed)."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import BaseModel, UTCDateTime


class PasswordResetCode(BaseModel):
    __tablename__ = "password_reset_codes"
    __table_args__ = (
        Index("idx_password_reset_codes_code_hash", "code_hash", unique=True),
        Index("idx_password_reset_codes_user_id", "user_id"),
    )

    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    user_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
