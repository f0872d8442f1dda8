"""How each backend's connections are set up (app/db/database.py): UTC server-side timestamps
everywhere, READ COMMITTED on both servers, utf8mb4 on the wire to MySQL/MariaDB."""

from datetime import timedelta

from sqlalchemy import select, text

from app.db.base import utcnow
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
    whose `utf8` holds 3 bytes), and MySQL's session clock in UTC."""
    queries = {
        "sqlite": "SELECT * FROM pragma_foreign_keys, pragma_journal_mode",
        "postgresql": "SELECT current_setting('client_encoding')",
        "mysql": "SELECT @@session.time_zone, @@character_set_client, "
        "@@character_set_connection, @@character_set_results, @@innodb_lock_wait_timeout",
    }
    expected = {
        "sqlite": (1, "wal"),
        "postgresql": ("UTF8",),
        "mysql": ("+00:00", "utf8mb4", "utf8mb4", "utf8mb4", 20),
    }
    async with db.reader() as conn:
        name = conn.dialect.name
        row = (await conn.execute(text(queries[name]))).one()
        if name != "sqlite":
            assert await conn.get_isolation_level() == "READ COMMITTED"
    assert tuple(row) == expected[name]
