"""The `group_members` table: who is in a group, their role there, and their read position."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import BaseModel, UTCDateTime, utcnow
from app.models.enums import UserRole, check_in


class GroupMember(BaseModel):
    __tablename__ = "group_members"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id", name="uk_group_user"),
        Index("idx_group_members_group_id", "group_id"),
        Index("idx_group_members_user_id", "user_id"),
        Index("idx_group_members_user_role", "user_role"),
        CheckConstraint(check_in("user_role", UserRole), name="user_role"),
    )

    group_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("groups.group_id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[str] = mapped_column(String(64), ForeignKey("users.user_id"), nullable=False)
    user_role: Mapped[str] = mapped_column(String(16), nullable=False)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_read_seq: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
