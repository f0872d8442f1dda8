"""The `groups` table. Its row is the lock that orders a group's message `seq`."""

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import LONG_TEXT, BaseModel


class Group(BaseModel):
    __tablename__ = "groups"
    __table_args__ = (
        Index("idx_groups_group_id", "group_id", unique=True),
        Index("idx_created_by", "created_by"),
    )

    group_id: Mapped[str] = mapped_column(String(64), nullable=False)
    group_name: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str | None] = mapped_column(LONG_TEXT, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64), ForeignKey("users.user_id"), nullable=False)
    ai_enabled: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=True, server_default=true()
    )
    last_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
