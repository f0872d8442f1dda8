"""The `push_marks` table: the last message of a group a member was pushed for. Pushes are
coalesced per group while unread: no new push for the group until the member has read up to
the marked seq (a mention notifies regardless)."""

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import BaseModel


class PushMark(BaseModel):
    __tablename__ = "push_marks"
    __table_args__ = (Index("idx_push_marks_user_group", "user_id", "group_id", unique=True),)

    user_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False
    )
    group_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("groups.group_id", ondelete="CASCADE"), nullable=False
    )
    pushed_seq: Mapped[int] = mapped_column(Integer, nullable=False)
