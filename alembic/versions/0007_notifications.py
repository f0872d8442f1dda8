"""Notifications (SPEC §13): the webhook outbox, Web Push subscriptions and push marks

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.ddl import LONG_TEXT, UTC_DATETIME, pk_name, table_kwargs, timestamps

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("body", LONG_TEXT, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", UTC_DATETIME, nullable=True),
        *timestamps(),
        sa.CheckConstraint(
            "status IN ('PENDING', 'DELIVERED', 'FAILED')",
            name=op.f("ck_webhook_deliveries_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=pk_name("webhook_deliveries")),
        **table_kwargs(),
    )
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.create_index("idx_webhook_deliveries_delivery_id", ["delivery_id"], unique=True)
        batch.create_index(
            "idx_webhook_deliveries_status_due", ["status", "next_attempt_at"], unique=False
        )
        batch.create_index(
            "idx_webhook_deliveries_group_status", ["group_id", "status"], unique=False
        )

    op.create_table(
        "push_subscriptions",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=2048), nullable=False),
        sa.Column("endpoint_hash", sa.String(length=64), nullable=False),
        sa.Column("p256dh", sa.String(length=128), nullable=False),
        sa.Column("auth", sa.String(length=64), nullable=False),
        *timestamps(),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_push_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=pk_name("push_subscriptions")),
        **table_kwargs(),
    )
    with op.batch_alter_table("push_subscriptions") as batch:
        batch.create_index("idx_push_subscriptions_endpoint_hash", ["endpoint_hash"], unique=True)
        batch.create_index("idx_push_subscriptions_user_id", ["user_id"], unique=False)

    op.create_table(
        "push_marks",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("pushed_seq", sa.Integer(), nullable=False),
        *timestamps(),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_push_marks_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.group_id"],
            name=op.f("fk_push_marks_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=pk_name("push_marks")),
        **table_kwargs(),
    )
    with op.batch_alter_table("push_marks") as batch:
        batch.create_index("idx_push_marks_user_group", ["user_id", "group_id"], unique=True)


def downgrade() -> None:
    # Their indexes go with them (MySQL refuses to drop an index a foreign key uses).
    op.drop_table("push_marks")
    op.drop_table("push_subscriptions")
    op.drop_table("webhook_deliveries")
