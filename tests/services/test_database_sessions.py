"""How each backend's connections are set up (app/db/database.py): UTC server-side timestamps
everywhere, READ COMMITTED on both servers, utf8mb4 on the wire to MySQL/MariaDB."""

import itertools
from datetime import timedelta

from sqlalchemy import Connection, select, text

from app.config import Settings
from app.db.base import utcnow
from app.db.database import create_engine
from app.db.session import Database
from app.models import User


async def test_server_side_default_timestamps_are_utc_with_microseconds(db: Database) -> None:
    """A row written without timestamps (raw SQL, a manual fix) gets the server's
    `CURRENT_TIMESTAMP`, which must be UTC like every timestamp the service writes."""
    before = utcnow()
    async with db.write() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO users (user_id, username, user_role) "
                "VALUES ('user_raw', 'raw', 'PATIENT')"
            )
        )
    async with db.read() as session:
        user = (await session.execute(select(User).where(User.user_id == "user_raw"))).scalar_one()
    assert user.created_at.utcoffset() == timedelta(0)
    # SQLite's CURRENT_TIMESTAMP has whole seconds; allow for that, and nothing like an offset.
    assert before - timedelta(seconds=2) <= user.created_at <= utcnow() + timedelta(seconds=2)


async def test_connections_are_set_up_per_backend(db: Database) -> None:
    """SQLite: foreign keys and WAL. The servers: READ COMMITTED and UTF-8 (utf8mb4 on MySQL,
    whose `utf8` holds 3 bytes); MySQL's session clock in UTC and strict mode."""
    queries = {
        "sqlite": "SELECT * FROM pragma_foreign_keys, pragma_journal_mode",
        "postgresql": "SELECT current_setting('client_encoding')",
        "mysql": "SELECT @@session.time_zone, @@character_set_client, "
        "@@character_set_connection, @@character_set_results, @@innodb_lock_wait_timeout, "
        "FIND_IN_SET('STRICT_ALL_TABLES', @@sql_mode) > 0",
    }
    expected = {
        "sqlite": (1, "wal"),
        "postgresql": ("UTF8",),
        "mysql": ("+00:00", "utf8mb4", "utf8mb4", "utf8mb4", 20, 1),
    }
    async with db.reader() as conn:
        name = conn.dialect.name
        row = (await conn.execute(text(queries[name]))).one()
        if name != "sqlite":
            assert await conn.get_isolation_level() == "READ COMMITTED"
    assert tuple(row) == expected[name]


def _leave_a_transaction_open(sync_conn: Connection) -> None:
    """Write through the driver behind SQLAlchemy's back, and never commit."""
    cursor = sync_conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    if sync_conn.dialect.name == "sqlite":  # its driver runs in autocommit mode (database.py)
        cursor.execute("BEGIN")
    cursor.execute(
        "INSERT INTO users (user_id, username, user_role) VALUES ('user_open', 'x', 'PATIENT')"
    )


async def test_a_connection_returns_to_the_pool_without_an_open_transaction(
    settings: Settings,
) -> None:
    """The pool resets what a connection leaves open; on MySQL it skips the ROLLBACK round
    trip after a commit (the server's status flags say nothing is open)."""
    db = Database(create_engine(settings.model_copy(update={"database_pool_size": 1})))
    try:
        async with db.engine.connect() as conn:
            await conn.run_sync(_leave_a_transaction_open)
        async with db.read() as session:
            found = await session.execute(select(User.id).where(User.user_id == "user_open"))
            assert found.first() is None
        if db.engine.dialect.name == "mysql":
            rollbacks = [await _session_rollbacks(db)]
            for _ in range(3):
                async with db.write() as session, session.begin():
                    await session.execute(text("SELECT 1"))
                rollbacks.append(await _session_rollbacks(db))
            # Each status read ends with its own ROLLBACK (closing its connection's
            # transaction), and nothing follows a commit.
            assert [b - a for a, b in itertools.pairwise(rollbacks)] == [1, 1, 1]
    finally:
        await db.dispose()


async def _session_rollbacks(db: Database) -> int:
    async with db.reader() as conn:
        row = (await conn.execute(text("SHOW SESSION STATUS LIKE 'Com_rollback'"))).one()
    return int(row[1])
