"""The `sessions` table (one signed-in device) and its `refresh_tokens` (stored only as hashes).

A session ends when it is revoked (`revoked_at`) or when its newest refresh token expires
(`expires_at` follows each rotation). Every refresh token a session ever had stays until it
expires, marked `used_at` once rotated, so presenting a used one is recognised as theft.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import BaseModel, UTCDateTime, utcnow


class UserSession(BaseModel):
    __tablename__ = "sessions"
    __table_args__ = (
        Index("idx_sessions_session_id", "session_id", unique=True),
        Index("idx_sessions_user_id", "user_id"),
    )

    session_id: Mapped[str] = mapped_column(String(64), nullable=False)
    user_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False
    )
    user_agent: Mapped[str | None] = mapped_column(String(255), nullable=True)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RefreshToken(BaseModel):
    __tablename__ = "refresh_tokens"
    __table_args__ = (
        Index("idx_refresh_tokens_token_hash", "token_hash", unique=True),
        Index("idx_refresh_tokens_session_id", "session_id"),
    )

    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    session_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("sessions.session_id", ondelete="CASCADE"), nullable=False
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
