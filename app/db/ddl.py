"""What migrations need to create the same schema on SQLite, PostgreSQL and MySQL/MariaDB:
column types, the `now` default, primary-key names and table options (call them from inside
a migration, where `op` knows the dialect)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from app.db.base import ID_TYPE, LONG_TEXT
from app.db.database import table_options

__all__ = ["ID_TYPE", "LONG_TEXT", "UTC_DATETIME", "now", "pk_name", "table_kwargs", "timestamps"]

UTC_DATETIME = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql")
"""Microseconds on MySQL too: whole seconds would tie and misorder `created_at`."""


def now() -> sa.TextClause | sa.sql.functions.current_timestamp:
    """`CURRENT_TIMESTAMP`; MySQL wants the column's precision repeated in its default."""
    if op.get_context().dialect.name == "mysql":
        return sa.text("CURRENT_TIMESTAMP(6)")
    return sa.func.current_timestamp()


def pk_name(table: str) -> str | None:
    """`pk_<table>`; MySQL names every primary key PRIMARY (and warns about any other name)."""
    return None if op.get_context().dialect.name == "mysql" else op.f(f"pk_{table}")


def table_kwargs() -> dict[str, str]:
    """InnoDB, utf8mb4 and the binary collation on MySQL; nothing elsewhere."""
    return table_options(op.get_context().dialect)


def timestamps() -> list[sa.Column[object]]:
    """The `id`, `created_at` and `updated_at` every table has (SPEC §3)."""
    return [
        sa.Column("id", ID_TYPE, autoincrement=True, nullable=False),
        sa.Column("created_at", UTC_DATETIME, server_default=now(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, server_default=now(), nullable=False),
    ]
