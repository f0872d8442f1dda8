"""The `users` table: one row per person or the AI assistant."""

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import BaseModel
from app.models.enums import UserRole, check_in


class User(BaseModel):
    __tablename__ = "users"
    __table_args__ = (
        Index("idx_users_user_id", "user_id", unique=True),
        Index("idx_users_user_role", "user_role"),
        CheckConstraint(check_in("user_role", UserRole), name="user_role"),
    )

    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    user_role: Mapped[str] = mapped_column(String(16), nullable=False)

    def is_patient(self) -> bool:
        return self.user_role == UserRole.PATIENT

    def is_doctor(self) -> bool:
        return self.user_role == UserRole.DOCTOR

    def is_ai_assistant(self) -> bool:
        return self.user_role == UserRole.AI_ASSISTANT
