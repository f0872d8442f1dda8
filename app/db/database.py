"""Async engine construction and every dialect detail: SQLite (WAL, foreign keys, busy timeout),
PostgreSQL, MySQL/MariaDB (utf8mb4, binary collation, UTC session, READ COMMITTED)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect, ExceptionContext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import PoolResetState, StaticPool

from app.config import MYSQL_CHARSET, MYSQL_SCHEME, Settings, with_mysql_charset

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_IMMEDIATE = "sqlite_begin_immediate"
SQLITE_STATEMENT_READS = "sqlite_statement_reads"

MYSQL_ISOLATION_LEVEL = "READ COMMITTED"
"""MySQL/MariaDB default to REPEATABLE READ; this service runs READ COMMITTED there, as on
PostgreSQL, so the three backends share one set of visibility rules:

- every statement sees what was committed before it started (an idempotency look-up in a
  retried transaction, the membership read of a batch), never a snapshot taken at the
  transaction's first read;
- no gap or next-key locks on range scans (the AI sweeper's scan of `status`/`updated_at`),
  so a scan never blocks the inserts of concurrent sends or deadlocks with them.

Correctness never rests on the isolation level: the group row's lock (`SELECT … FOR UPDATE`)
orders a group's seqs and serialises the sends of one group, and the unique keys settle
idempotency races (IntegrityError, then the original is read back in a new transaction).
Deadlocks are avoided by ordering rather than retried: a write transaction takes its group
rows in group_id order before it inserts anything, and a transaction that writes both a group
and an AI record locks the group first. With binary logging, READ COMMITTED needs `binlog_format`
ROW or MIXED (the servers' defaults).
"""
MYSQL_POOL_RECYCLE_SECONDS = 1800
"""Below the server's and any proxy's idle timeout (`wait_timeout`, 8 h by default)."""
MYSQL_CHECK_VIOLATIONS = frozenset({3819, 4025})
"""CHECK constraint failed (MySQL, MariaDB): drivers raise OperationalError, the others'
IntegrityError."""
MYSQL_CONNECT_TIMEOUT_SECONDS = 10
MYSQL_READ_TIMEOUT_SECONDS = 30
MYSQL_LOCK_WAIT_TIMEOUT_SECONDS = 20
"""Below the read timeout: a statement stuck behind a lock fails cleanly (error 1205, the
connection stays usable) before the client gives up on the connection."""
MYSQL_SESSION_SETUP = (
    "SET time_zone = '+00:00', sql_mode = 'TRADITIONAL', "
    f"innodb_lock_wait_timeout = {MYSQL_LOCK_WAIT_TIMEOUT_SECONDS}"
)
"""Per connection: UTC, strict mode whatever the server's configuration (a value that does not
fit is an error, as on PostgreSQL, never silently cut), bounded lock waits."""


def create_engine(settings: Settings, *, url: str | None = None) -> AsyncEngine:
    """Build the engine for `url` (default `DATABASE_URL`); creates the SQLite data dir."""
    database_url = url or settings.database_url
    if database_url.startswith("sqlite"):
        return _sqlite_engine(settings, database_url)
    if database_url.startswith(MYSQL_SCHEME):
        return _mysql_engine(settings, database_url)
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


def _mysql_engine(settings: Settings, url: str) -> AsyncEngine:
    """MySQL 8.0+ / MariaDB 10.11+ through asyncmy: utf8mb4 on the wire, UTC session time
    zone (so `CURRENT_TIMESTAMP` defaults are UTC like every stored timestamp), READ COMMITTED,
    bounded lock waits, and connections checked before use and recycled before the server
    drops them."""
    engine = create_async_engine(
        with_mysql_charset(url),
        hide_parameters=True,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_pre_ping=True,
        pool_recycle=MYSQL_POOL_RECYCLE_SECONDS,
        pool_timeout=10,
        pool_reset_on_return=None,  # _rollback_if_in_transaction does it, when needed
        isolation_level=MYSQL_ISOLATION_LEVEL,
        connect_args={
            "connect_timeout": MYSQL_CONNECT_TIMEOUT_SECONDS,
            "read_timeout": MYSQL_READ_TIMEOUT_SECONDS,
            "init_command": MYSQL_SESSION_SETUP,
        },
    )
    event.listen(engine.sync_engine, "handle_error", _check_violation_is_integrity_error)
    event.listen(engine.sync_engine, "reset", _rollback_if_in_transaction)
    return engine


def _rollback_if_in_transaction(
    dbapi_connection: Any, _record: Any, reset_state: PoolResetState
) -> None:
    """Reset on return without a wasted round trip: the pool's default ROLLBACK follows every
    committed transaction too, while MySQL's own status flags say whether one is open."""
    if reset_state.terminate_only or not reset_state.asyncio_safe:
        return
    if dbapi_connection.driver_connection.get_transaction_status():
        dbapi_connection.rollback()


def _check_violation_is_integrity_error(context: ExceptionContext) -> IntegrityError | None:
    """A refused CHECK is an IntegrityError on every backend, as a duplicate key is."""
    error = context.original_exception
    if not error.args or error.args[0] not in MYSQL_CHECK_VIOLATIONS:
        return None
    return IntegrityError(context.statement, context.parameters, error, hide_parameters=True)


def mysql_collation(dialect: Dialect) -> str:
    """The collation of every MySQL table: binary (ids and logins compare case-sensitively,
    byte for byte, as on PostgreSQL and SQLite) and NO PAD (`'a'` and `'a '` are two keys, as
    there; MySQL's `utf8mb4_bin` is PAD SPACE). Each server names it differently."""
    if getattr(dialect, "is_mariadb", False):
        return "utf8mb4_nopad_bin"
    version = dialect.server_version_info
    if version is not None and version < (8, 0, 17):
        return "utf8mb4_bin"  # older MySQL has no binary NO PAD collation
    return "utf8mb4_0900_bin"


def table_options(dialect: Dialect) -> dict[str, str]:
    """Keyword arguments for `op.create_table` in migrations: InnoDB, utf8mb4 and the binary
    collation on MySQL/MariaDB (whatever the database's defaults), nothing elsewhere."""
    if dialect.name != "mysql":
        return {}
    return {
        "mysql_engine": "InnoDB",
        "mysql_charset": MYSQL_CHARSET,
        "mysql_collate": mysql_collation(dialect),
    }
