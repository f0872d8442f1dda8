"""The `webhook_deliveries` table: the webhook outbox (SPEC §13). One row per event, written in
the transaction of the change it reports, delivered after the commit by a deliverer on any
instance.

Lifecycle: PENDING → DELIVERED, or FAILED once `expires_at` passes. `next_attempt_at` is when the
row may be claimed next; a claim pushes it forward by a lease and sets `claim_token`, so a
deliverer that dies mid-delivery leaves a row that falls due again by itself. The body is fixed
at staging: every attempt sends the same bytes under the same `webhook-id`.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import LONG_TEXT, BaseModel, UTCDateTime
from app.models.enums import check_in


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class WebhookDelivery(BaseModel):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("idx_webhook_deliveries_delivery_id", "delivery_id", unique=True),
        Index("idx_webhook_deliveries_status_due", "status", "next_attempt_at"),
        Index("idx_webhook_deliveries_group_status", "group_id", "status"),
        CheckConstraint(check_in("status", DeliveryStatus), name="status"),
    )

    delivery_id: Mapped[str] = mapped_column(String(64), nullable=False)
    """The `webhook-id` header: receivers deduplicate on it."""
    event_type: Mapped[str] = mapped_column(String(32), nullable=False)
    group_id: Mapped[str] = mapped_column(String(64), nullable=False)
    """Deliveries of one group go out in `id` order (no foreign key: an event outlives its
    group)."""
    body: Mapped[str] = mapped_column(LONG_TEXT, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    """After this, a failed attempt marks the row FAILED (`WEBHOOK_MAX_HOURS`)."""
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
