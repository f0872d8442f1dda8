"""Session factories: one `AsyncSession` per request, WebSocket message or task run.

`Database.write()` opens a session for a write transaction. On SQLite the transaction takes the
database's write lock up front (`BEGIN IMMEDIATE`), and writers of this process queue on an
asyncio lock first, in order, instead of sleeping in SQLite's busy handler (whose back-off of up
to 100 ms would dominate tail latency). On PostgreSQL reads and writes share one factory and
row locks do the ordering. Services own begin/commit; nothing here commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.db.database import SQLITE_IMMEDIATE, SQLITE_STATEMENT_READS


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.read = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._write_lock: asyncio.Lock | None = None
        self._write_factory = self.read
        self._read_engine = engine
        if engine.dialect.name == "sqlite":
            write_engine = engine.execution_options(**{SQLITE_IMMEDIATE: True})
            self._write_factory = async_sessionmaker(
                write_engine, expire_on_commit=False, autoflush=False
            )
            self._write_lock = asyncio.Lock()
            self._read_engine = engine.execution_options(**{SQLITE_STATEMENT_READS: True})
        elif engine.dialect.name == "postgresql":
            # asyncpg's adapter switches autocommit with an attribute, no round trip.
            self._read_engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        if self._write_lock is None:
            async with self._write_factory() as session:
                yield session
            return
        async with self._write_lock, self._write_factory() as session:
            yield session

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncConnection]:
        """A bare connection for Core reads (the busiest path), each statement its own
        snapshot. On SQLite and PostgreSQL its statements run without an explicit transaction:
        no BEGIN and ROLLBACK round trips around a one-statement read."""
        async with self._read_engine.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()
