"""Message model (SPEC §11): replies, mentions, edits and recalls; message_revisions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.ddl import LONG_TEXT, UTC_DATETIME, pk_name, table_kwargs, timestamps

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TYPES = "msg_type IN ('TEXT', 'SYSTEM')"
NEW_TYPES = "msg_type IN ('TEXT', 'SYSTEM', 'IMAGE', 'FILE', 'EDIT', 'RECALL')"


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("reply_to", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("mentions", sa.JSON(none_as_null=True), nullable=True))
        batch.add_column(sa.Column("target_message_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("edited_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("recalled_at", UTC_DATETIME, nullable=True))
        batch.drop_constraint(op.f("ck_messages_msg_type"), type_="check")
        batch.create_check_constraint(op.f("ck_messages_msg_type"), NEW_TYPES)

    op.create_table(
        "message_revisions",
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("change_message_id", sa.String(length=64), nullable=False),
        sa.Column("change_type", sa.String(length=16), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("msg_content", LONG_TEXT, nullable=False),
        *timestamps(),
        sa.CheckConstraint(
            "change_type IN ('EDIT', 'RECALL')", name=op.f("ck_message_revisions_change_type")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.message_id"],
            name=op.f("fk_message_revisions_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["changed_by"],
            ["users.user_id"],
            name=op.f("fk_message_revisions_changed_by_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=pk_name("message_revisions")),
        **table_kwargs(),
    )
    with op.batch_alter_table("message_revisions") as batch:
        batch.create_index("idx_message_revisions_message_id", ["message_id"], unique=False)


def downgrade() -> None:
    op.drop_table("message_revisions")  # its index goes with it (MySQL refuses to drop it alone)
    # The old model has no such entries: EDIT and RECALL entries become SYSTEM lines (the log
    # stays dense; their targets keep their current content), IMAGE and FILE become TEXT.
    op.execute(
        "UPDATE messages SET msg_type = 'SYSTEM', msg_content = 'message edited' "
        "WHERE msg_type = 'EDIT'"
    )
    op.execute(
        "UPDATE messages SET msg_type = 'SYSTEM', msg_content = 'message recalled' "
        "WHERE msg_type = 'RECALL'"
    )
    op.execute("UPDATE messages SET msg_type = 'TEXT' WHERE msg_type IN ('IMAGE', 'FILE')")
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint(op.f("ck_messages_msg_type"), type_="check")
        batch.create_check_constraint(op.f("ck_messages_msg_type"), OLD_TYPES)
        batch.drop_column("recalled_at")
        batch.drop_column("edited_at")
        batch.drop_column("target_message_id")
        batch.drop_column("mentions")
        batch.drop_column("reply_to")
