"""create initial tables

On MySQL/MariaDB every table is InnoDB, utf8mb4 with a binary collation (`table_options`),
timestamps are DATETIME(6) (whole seconds would tie and misorder `created_at`) and long texts
MEDIUMTEXT.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 05:56:02.338522
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.ddl import LONG_TEXT, UTC_DATETIME, now, pk_name, table_kwargs

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "users",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("user_role", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            UTC_DATETIME,
            server_default=now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            UTC_DATETIME,
            server_default=now(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "user_role IN ('PATIENT', 'DOCTOR', 'AI_ASSISTANT')", name=op.f("ck_users_user_role")
        ),
        sa.PrimaryKeyConstraint("id", name=pk_name("users")),
        **table_kwargs(),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("idx_users_user_id", ["user_id"], unique=True)
        batch_op.create_index("idx_users_user_role", ["user_role"], unique=False)

    op.create_table(
        "groups",
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("description", LONG_TEXT, nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("ai_enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("last_seq", sa.Integer(), server_default="0", nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            UTC_DATETIME,
            server_default=now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            UTC_DATETIME,
            server_default=now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.user_id"], name=op.f("fk_groups_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=pk_name("groups")),
        **table_kwargs(),
    )
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.create_index("idx_created_by", ["created_by"], unique=False)
        batch_op.create_index("idx_groups_group_id", ["group_id"], unique=True)

    op.create_table(
        "group_members",
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("user_role", sa.String(length=16), nullable=False),
        sa.Column("joined_at", UTC_DATETIME, nullable=False),
        sa.Column("last_read_seq", sa.Integer(), server_default="0", nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            UTC_DATETIME,
            server_default=now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            UTC_DATETIME,
            server_default=now(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "user_role IN ('PATIENT', 'DOCTOR', 'AI_ASSISTANT')",
            name=op.f("ck_group_members_user_role"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.group_id"],
            name=op.f("fk_group_members_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_group_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=pk_name("group_members")),
        sa.UniqueConstraint("group_id", "user_id", name="uk_group_user"),
        **table_kwargs(),
    )
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.create_index("idx_group_members_group_id", ["group_id"], unique=False)
        batch_op.create_index("idx_group_members_user_id", ["user_id"], unique=False)
        batch_op.create_index("idx_group_members_user_role", ["user_role"], unique=False)

    op.create_table(
        "messages",
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("from_user_id", sa.String(length=64), nullable=False),
        sa.Column("from_user_role", sa.String(length=16), nullable=False),
        sa.Column("msg_type", sa.String(length=16), nullable=False),
        sa.Column("msg_content", LONG_TEXT, nullable=False),
        sa.Column("client_msg_id", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            UTC_DATETIME,
            server_default=now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            UTC_DATETIME,
            server_default=now(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "from_user_role IN ('PATIENT', 'DOCTOR', 'AI_ASSISTANT')",
            name=op.f("ck_messages_from_user_role"),
        ),
        sa.CheckConstraint("msg_type IN ('TEXT', 'SYSTEM')", name=op.f("ck_messages_msg_type")),
        sa.ForeignKeyConstraint(
            ["from_user_id"], ["users.user_id"], name=op.f("fk_messages_from_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.group_id"],
            name=op.f("fk_messages_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=pk_name("messages")),
        sa.UniqueConstraint("from_user_id", "client_msg_id", name="uk_sender_client_msg"),
        sa.UniqueConstraint("group_id", "seq", name="uk_group_seq"),
        **table_kwargs(),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("idx_created_at", ["created_at"], unique=False)
        batch_op.create_index("idx_from_user_id", ["from_user_id"], unique=False)
        batch_op.create_index("idx_group_created", ["group_id", "created_at"], unique=False)
        batch_op.create_index("idx_messages_group_id", ["group_id"], unique=False)
        batch_op.create_index("idx_messages_message_id", ["message_id"], unique=True)

    op.create_table(
        "ai_interaction_records",
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("user_message_id", sa.String(length=64), nullable=False),
        sa.Column("ai_message_id", sa.String(length=64), nullable=True),
        sa.Column("ai_service_url", sa.String(length=500), nullable=False),
        sa.Column("request_content", LONG_TEXT, nullable=False),
        sa.Column("response_content", LONG_TEXT, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("error_message", LONG_TEXT, nullable=True),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            UTC_DATETIME,
            server_default=now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            UTC_DATETIME,
            server_default=now(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('PENDING', 'PROCESSING', 'SUCCESS', 'FAILED', 'SKIPPED')",
            name=op.f("ck_ai_interaction_records_status"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.group_id"],
            name=op.f("fk_ai_interaction_records_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_message_id"],
            ["messages.message_id"],
            name=op.f("fk_ai_interaction_records_user_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=pk_name("ai_interaction_records")),
        **table_kwargs(),
    )
    with op.batch_alter_table("ai_interaction_records", schema=None) as batch_op:
        batch_op.create_index("idx_ai_interaction_records_group_id", ["group_id"], unique=False)
        batch_op.create_index("idx_ai_interaction_records_record_id", ["record_id"], unique=True)
        batch_op.create_index("idx_ai_interaction_records_status", ["status"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes; MySQL refuses to drop an index a foreign key needs.
    for table in ("ai_interaction_records", "messages", "group_members", "groups", "users"):
        op.drop_table(table)
