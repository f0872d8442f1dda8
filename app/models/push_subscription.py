"""The `push_subscriptions` table: a browser's Web Push subscription (SPEC §13), one row per
endpoint; a push service answering 404/410 for it deletes the row."""

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import BaseModel


class PushSubscription(BaseModel):
    __tablename__ = "push_subscriptions"
    __table_args__ = (
        Index("idx_push_subscriptions_endpoint_hash", "endpoint_hash", unique=True),
        Index("idx_push_subscriptions_user_id", "user_id"),
    )

    user_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False
    )
    endpoint: Mapped[str] = mapped_column(String(2048), nullable=False)
    endpoint_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    """SHA-256 of the endpoint: unique, where the endpoint itself is too long for an index."""
    p256dh: Mapped[str] = mapped_column(String(128), nullable=False)
    auth: Mapped[str] = mapped_column(String(64), nullable=False)
