"""AI copilot for doctors (SPEC §15): the kind of an AI record and who asked for it

Existing records are REPLY records. A copilot record (SUMMARY, SUGGESTION) keeps
`user_message_id` NOT NULL: it names the last message the conversation it covers reaches.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = "kind IN ('REPLY', 'SUMMARY', 'SUGGESTION')"


def upgrade() -> None:
    with op.batch_alter_table("ai_interaction_records") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=16), server_default="REPLY", nullable=False)
        )
        batch.add_column(sa.Column("requested_by", sa.String(length=64), nullable=True))
        batch.create_check_constraint(op.f("ck_ai_interaction_records_kind"), KINDS)
        batch.create_index(
            "idx_ai_interaction_records_group_kind", ["group_id", "kind"], unique=False
        )


def downgrade() -> None:
    # The copilot's records have no meaning to the previous release (they are not replies).
    op.execute("DELETE FROM ai_interaction_records WHERE kind <> 'REPLY'")
    with op.batch_alter_table("ai_interaction_records") as batch:
        batch.drop_index("idx_ai_interaction_records_group_kind")
        batch.drop_constraint(op.f("ck_ai_interaction_records_kind"), type_="check")
        batch.drop_column("requested_by")
        batch.drop_column("kind")
