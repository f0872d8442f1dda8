"""Session factories: one `AsyncSession` per request, WebSocket message or task run.

`Database.write()` opens a session whose transaction takes SQLite's write lock up front; on
PostgreSQL both factories are the same. Services own begin/commit; nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.db.database import SQLITE_IMMEDIATE


@dataclass(frozen=True)
class Database:
    engine: AsyncEngine
    read: async_sessionmaker[AsyncSession]
    write: async_sessionmaker[AsyncSession]

    @classmethod
    def from_engine(cls, engine: AsyncEngine) -> Database:
        read = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        if engine.dialect.name == "sqlite":
            write_engine = engine.execution_options(**{SQLITE_IMMEDIATE: True})
            write = async_sessionmaker(write_engine, expire_on_commit=False, autoflush=False)
        else:
            write = read
        return cls(engine=engine, read=read, write=write)

    async def dispose(self) -> None:
        await self.engine.dispose()
