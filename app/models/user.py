"""The `users` table: one row per person or the AI assistant.

`login` and `password_hash` come together or not at all: users provisioned by a hospital back end
through the service key may have neither. `login` is stored lower-cased.
"""

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import BaseModel
from app.models.enums import UserRole, check_in


class User(BaseModel):
    __tablename__ = "users"
    __table_args__ = (
        Index("idx_users_user_id", "user_id", unique=True),
        Index("idx_users_user_role", "user_role"),
        Index("idx_users_login", "login", unique=True),
        CheckConstraint(check_in("user_role", UserRole), name="user_role"),
    )

    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    user_role: Mapped[str] = mapped_column(String(16), nullable=False)
    login: Mapped[str | None] = mapped_column(String(32), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)

    def is_patient(self) -> bool:
        return self.user_role == UserRole.PATIENT

    def is_doctor(self) -> bool:
        return self.user_role == UserRole.DOCTOR

    def is_ai_assistant(self) -> bool:
        return self.user_role == UserRole.AI_ASSISTANT
