"""Attachments (SPEC §12): the attachments table and a message's attachment metadata

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.ddl import pk_name, table_kwargs, timestamps

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("attachment_id", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("uploader_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("mime", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("thumbnail_mime", sa.String(length=100), nullable=True),
        sa.Column("thumbnail_size", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        *timestamps(),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.group_id"],
            name=op.f("fk_attachments_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploader_id"], ["users.user_id"], name=op.f("fk_attachments_uploader_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=pk_name("attachments")),
        **table_kwargs(),
    )
    with op.batch_alter_table("attachments") as batch:
        batch.create_index("idx_attachments_attachment_id", ["attachment_id"], unique=True)
        batch.create_index("idx_attachments_group_id", ["group_id"], unique=False)
        batch.create_index("idx_attachments_message_id", ["message_id"], unique=True)
        batch.create_index("idx_attachments_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("attachment", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    # IMAGE / FILE messages keep their captions as text (the bytes stay in storage).
    op.execute("UPDATE messages SET msg_type = 'TEXT' WHERE msg_type IN ('IMAGE', 'FILE')")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("attachment")
    op.drop_table("attachments")  # its indexes go with it
