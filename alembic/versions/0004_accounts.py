"""accounts: login and password, sessions and refresh tokens, invites, password reset codes

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db.ddl import UTC_DATETIME, pk_name, table_kwargs, timestamps

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("login", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))
        batch.create_index("idx_users_login", ["login"], unique=True)

    op.create_table(
        "sessions",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("last_used_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        *timestamps(),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=pk_name("sessions")),
        **table_kwargs(),
    )
    with op.batch_alter_table("sessions") as batch:
        batch.create_index("idx_sessions_session_id", ["session_id"], unique=True)
        batch.create_index("idx_sessions_user_id", ["user_id"], unique=False)

    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("used_at", UTC_DATETIME, nullable=True),
        *timestamps(),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.session_id"],
            name=op.f("fk_refresh_tokens_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=pk_name("refresh_tokens")),
        **table_kwargs(),
    )
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.create_index("idx_refresh_tokens_token_hash", ["token_hash"], unique=True)
        batch.create_index("idx_refresh_tokens_session_id", ["session_id"], unique=False)

    op.create_table(
        "invites",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=True),
        sa.Column("user_role", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), server_default="0", nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.Column("purpose", sa.String(length=32), nullable=True),
        *timestamps(),
        sa.CheckConstraint("kind IN ('group', 'doctor')", name=op.f("ck_invites_kind")),
        sa.CheckConstraint(
            "user_role IN ('PATIENT', 'DOCTOR', 'AI_ASSISTANT')", name=op.f("ck_invites_user_role")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.group_id"],
            name=op.f("fk_invites_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=pk_name("invites")),
        **table_kwargs(),
    )
    with op.batch_alter_table("invites") as batch:
        batch.create_index("idx_invites_code", ["code"], unique=True)
        batch.create_index("idx_invites_group_id", ["group_id"], unique=False)
        batch.create_index("idx_invites_purpose", ["purpose"], unique=True)

    op.create_table(
        "password_reset_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("used_at", UTC_DATETIME, nullable=True),
        *timestamps(),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_password_reset_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=pk_name("password_reset_codes")),
        **table_kwargs(),
    )
    with op.batch_alter_table("password_reset_codes") as batch:
        batch.create_index("idx_password_reset_codes_code_hash", ["code_hash"], unique=True)
        batch.create_index("idx_password_reset_codes_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("password_reset_codes")
    op.drop_table("invites")
    op.drop_table("refresh_tokens")
    op.drop_table("sessions")
    # Plain ALTERs, not batch mode: on SQLite a batch recreates `users`, which other tables'
    # rows reference (SQLite ≥ 3.35 drops a column in place once its index is gone).
    op.drop_index("idx_users_login", table_name="users")
    op.drop_column("users", "password_hash")
    op.drop_column("users", "login")
