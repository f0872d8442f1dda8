"""Message model (SPEC §11): replies, mentions, edits and recalls; message_revisions

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-26 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TYPES = "msg_type IN ('TEXT', 'SYSTEM')"
NEW_TYPES = "msg_type IN ('TEXT', 'SYSTEM', 'IMAGE', 'FILE', 'EDIT', 'RECALL')"


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("reply_to", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("mentions", sa.JSON(none_as_null=True), nullable=True))
        batch.add_column(sa.Column("target_message_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("recalled_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint(op.f("ck_messages_msg_type"), type_="check")
        batch.create_check_constraint(op.f("ck_messages_msg_type"), NEW_TYPES)

    op.create_table(
        "message_revisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("change_message_id", sa.String(length=64), nullable=False),
        sa.Column("change_type", sa.String(length=16), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("msg_content", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_revisions")),
    )
    with op.batch_alter_table("message_revisions") as batch:
        batch.create_index("idx_message_revisions_message_id", ["message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message_revisions") as batch:
        batch.drop_index("idx_message_revisions_message_id")
    op.drop_table("message_revisions")
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
