"""The `ai_interaction_records` table: one row per AI request, written in the send transaction
(the outbox) and completed by the AI worker.

Lifecycle: PENDING → PROCESSING (claimed with a random `claim_token`) → SUCCESS or FAILED, each
transition conditional on the state (and token) it expects. `due_at` is when the sweeper should
look at the record next: a PENDING record whose dispatch may be lost, a PROCESSING one whose
lease lapses; `dispatches` counts the sweeper's re-dispatches (they back off exponentially).

`kind` (SPEC §15): a REPLY answers `user_message_id` with a message of the AI assistant; a
copilot SUMMARY or SUGGESTION, asked for by the doctor `requested_by` (None: the service key),
is never a message: its text stays in `response_content`, and `user_message_id` is the last
message the conversation it covers reaches (a SUGGESTION: the latest patient message).
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import LONG_TEXT, BaseModel, UTCDateTime
from app.models.enums import AIKind, AIStatus, check_in


class AIInteractionRecord(BaseModel):
    __tablename__ = "ai_interaction_records"
    __table_args__ = (
        Index("idx_ai_interaction_records_record_id", "record_id", unique=True),
        Index("idx_ai_interaction_records_group_id", "group_id"),
        Index("idx_ai_interaction_records_status", "status"),
        Index("idx_ai_interaction_records_status_due", "status", "due_at"),
        CheckConstraint(check_in("status", AIStatus), name="status"),
        Index("idx_ai_interaction_records_group_kind", "group_id", "kind"),
        CheckConstraint(check_in("kind", AIKind), name="kind"),
    )

    record_id: Mapped[str] = mapped_column(String(64), nullable=False)
    group_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("groups.group_id", ondelete="CASCADE"), nullable=False
    )
    user_message_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("messages.message_id", ondelete="CASCADE"), nullable=False
    )
    ai_message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ai_service_url: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    request_content: Mapped[str] = mapped_column(LONG_TEXT, nullable=False)
    response_content: Mapped[str | None] = mapped_column(LONG_TEXT, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error_message: Mapped[str | None] = mapped_column(LONG_TEXT, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    dispatches: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    kind: Mapped[str] = mapped_column(
        String(16), nullable=False, default=AIKind.REPLY, server_default=AIKind.REPLY.value
    )
    requested_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
