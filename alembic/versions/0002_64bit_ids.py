"""64-bit primary keys (SPEC §14)

Every table's integer `id` becomes BIGINT on PostgreSQL (with its identity sequence, which
PostgreSQL types INTEGER too and would stop at 2^31-1) and on MySQL/MariaDB (AUTO_INCREMENT
kept). SQLite needs nothing: `INTEGER PRIMARY KEY` is the table's 64-bit rowid already.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("users", "groups", "group_members", "messages", "ai_interaction_records")


def _set_id_type(new: sa.types.TypeEngine[int], old: sa.types.TypeEngine[int]) -> None:
    dialect = op.get_context().dialect
    if dialect.name == "sqlite":
        return
    # MySQL's MODIFY restates the whole column: keep AUTO_INCREMENT.
    keep = (
        {"autoincrement": True, "existing_autoincrement": True} if dialect.name == "mysql" else {}
    )
    for table in TABLES:
        op.alter_column(table, "id", type_=new, existing_type=old, existing_nullable=False, **keep)
        if dialect.name == "postgresql":  # the SERIAL's sequence, named by PostgreSQL
            op.execute(f"ALTER SEQUENCE {table}_id_seq AS {new.compile(dialect=dialect)}")


def upgrade() -> None:
    _set_id_type(sa.BigInteger(), sa.Integer())


def downgrade() -> None:
    _set_id_type(sa.Integer(), sa.BigInteger())
