"""INSERT … or UPDATE on a unique key, in each dialect's own statement (ON CONFLICT on SQLite
and PostgreSQL, ON DUPLICATE KEY on MySQL/MariaDB): one round trip, no race between a read and
an insert."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import BaseModel


async def upsert(
    session: AsyncSession,
    model: type[BaseModel],
    values: dict[str, Any],
    *,
    key: Sequence[str],
    update: Sequence[str],
) -> None:
    changed = {column: values[column] for column in update}
    dialect = session.get_bind().dialect.name
    if dialect == "mysql":
        statement = mysql_insert(model).values(**values)
        await session.execute(statement.on_duplicate_key_update(**changed))
        return
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(model).values(**values).on_conflict_do_update(index_elements=key, set_=changed)
    )
