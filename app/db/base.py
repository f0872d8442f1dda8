"""Declarative base: constraint naming, `id`, and UTC `created_at` / `updated_at` columns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


ID_TYPE = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit primary keys: BIGINT, and on SQLite `INTEGER PRIMARY KEY` (its 64-bit rowid)."""

LONG_TEXT = Text().with_variant(mysql.MEDIUMTEXT(), "mysql")
"""Unbounded text as on PostgreSQL and SQLite: MySQL's TEXT stops at 64 KiB, which a long AI
reply of 4-byte characters exceeds; MEDIUMTEXT holds 16 MiB."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend, to the microsecond. SQLite and MySQL
    keep no offset: they store naive UTC (MySQL as DATETIME(6), whose default precision would
    be whole seconds)."""

    impl = DateTime(timezone=True)
    cache_ok = True
    _NAIVE_UTC = frozenset({"sqlite", "mysql"})

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(self.impl_instance)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name in self._NAIVE_UTC else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            value = datetime.fromisoformat(str(value))
        stamp: datetime = value
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


class CurrentTimestamp(FunctionElement[datetime]):
    """The server-side `CURRENT_TIMESTAMP` default, at the column's precision on MySQL."""

    type = DateTime(timezone=True)
    inherit_cache = True


@compiles(CurrentTimestamp)
def _current_timestamp(element: CurrentTimestamp, compiler: SQLCompiler, **kw: Any) -> str:
    return "CURRENT_TIMESTAMP"


@compiles(CurrentTimestamp, "mysql")
def _current_timestamp_mysql(element: CurrentTimestamp, compiler: SQLCompiler, **kw: Any) -> str:
    return "CURRENT_TIMESTAMP(6)"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class BaseModel(Base):
    """Every table's common columns (SPEC §3)."""

    __abstract__ = True

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=CurrentTimestamp(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(),
        default=utcnow,
        onupdate=utcnow,
        server_default=CurrentTimestamp(),
        nullable=False,
    )
