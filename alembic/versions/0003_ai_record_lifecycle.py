"""AI record lifecycle: claim token, due time and dispatch count

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.ddl import UTC_DATETIME

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ai_interaction_records") as batch:
        batch.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("due_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("dispatches", sa.Integer(), server_default="0", nullable=False))
        batch.create_index(
            "idx_ai_interaction_records_status_due", ["status", "due_at"], unique=False
        )
    # Records left unfinished by the previous release are due at once.
    op.execute(
        "UPDATE ai_interaction_records SET due_at = updated_at "
        "WHERE status IN ('PENDING', 'PROCESSING')"
    )


def downgrade() -> None:
    with op.batch_alter_table("ai_interaction_records") as batch:
        batch.drop_index("idx_ai_interaction_records_status_due")
        batch.drop_column("dispatches")
        batch.drop_column("due_at")
        batch.drop_column("claim_token")
