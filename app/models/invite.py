"""The `invites` table: group invites (join a group in a role) and doctor invites (sign up as a
DOCTOR). The code is kept in clear because a group's doctors list and share their invites again;
it is a random capability of 144 bits, never derived from anything.

`purpose` names a one-of-a-kind invite (`bootstrap-doctor`, logged at start-up while no doctor
exists); its unique index lets instances that start together agree on a single one.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import BaseModel, UTCDateTime
from app.models.enums import InviteKind, UserRole, check_in


class Invite(BaseModel):
    __tablename__ = "invites"
    __table_args__ = (
        Index("idx_invites_code", "code", unique=True),
        Index("idx_invites_group_id", "group_id"),
        Index("idx_invites_purpose", "purpose", unique=True),
        CheckConstraint(check_in("kind", InviteKind), name="kind"),
        CheckConstraint(check_in("user_role", UserRole), name="user_role"),
    )

    code: Mapped[str] = mapped_column(String(32), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    group_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("groups.group_id", ondelete="CASCADE"), nullable=True
    )
    user_role: Mapped[str] = mapped_column(String(16), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    max_uses: Mapped[int] = mapped_column(Integer, nullable=False)
    uses: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    purpose: Mapped[str | None] = mapped_column(String(32), nullable=True)
