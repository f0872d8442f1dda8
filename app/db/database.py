"""Async engine construction for SQLite (WAL, foreign keys, busy timeout) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from app.config import Settings

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_IMMEDIATE = "sqlite_begin_immediate"
SQLITE_STATEMENT_READS = "sqlite_statement_reads"


def create_engine(settings: Settings, *, url: str | None = None) -> AsyncEngine:
    """Build the engine for `url` (default `DATABASE_URL`); creates the SQLite data dir."""
    database_url = url or settings.database_url
    if database_url.startswith("sqlite"):
        return _sqlite_engine(settings, database_url)
    return create_async_engine(
        database_url,
        hide_parameters=True,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_pre_ping=True,
        pool_timeout=10,
        connect_args={"command_timeout": 30},
    )


def _sqlite_engine(settings: Settings, url: str) -> AsyncEngine:
    path = url.split(":///", 1)[1].split("?", 1)[0]
    extra: dict[str, Any] = {}
    if path in ("", ":memory:"):
        extra["poolclass"] = StaticPool
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        extra["pool_size"] = settings.database_pool_size
        extra["max_overflow"] = settings.database_max_overflow
    engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True, **extra)
    _install_sqlite_hooks(engine)
    return engine


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    """Pragmas per connection, and SQLAlchemy-emitted BEGIN (the documented pysqlite recipe).

    pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; with the driver in
    autocommit mode SQLAlchemy emits BEGIN itself: `BEGIN IMMEDIATE` for write transactions, so
    two writers queue on the lock instead of failing with "database is locked" on upgrade.
    """
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get(SQLITE_STATEMENT_READS, False):
            return  # each read statement is its own implicit transaction: no BEGIN round trip
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(SQLITE_IMMEDIATE) else "BEGIN")
