"""Throwaway test databases: a SQLite file, or a fresh PostgreSQL or MySQL/MariaDB database
per test session.

Each is migrated with `alembic upgrade head`, so the suite also proves the migrations.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncmy
import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent
TABLES = (
    "webhook_deliveries",
    "push_subscriptions",
    "push_marks",
    "refresh_tokens",
    "sessions",
    "password_reset_codes",
    "invites",
    "ai_interaction_records",
    "message_revisions",
    "attachments",
    "messages",
    "group_members",
    "groups",
    "users",
)
POSTGRES_URL = os.environ.get("IM_TEST_POSTGRES_URL", "")
MYSQL_URL = os.environ.get("IM_TEST_MYSQL_URL", "")
REDIS_URL = os.environ.get("IM_TEST_REDIS_URL", "")
BACKENDS = ("sqlite", "postgres", "mysql")


def backends() -> list[str]:
    """SQLite always; PostgreSQL and MySQL/MariaDB too when IM_TEST_POSTGRES_URL and
    IM_TEST_MYSQL_URL are set (CI sets both)."""
    servers = {"postgres": POSTGRES_URL, "mysql": MYSQL_URL}
    return [backend for backend in BACKENDS if servers.get(backend, "sqlite")]


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["configure_logger"] = False
    return config


async def migrate(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)


async def downgrade(url: str, revision: str = "base") -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(url), revision)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def fresh_database(backend: str, workdir: Path) -> AsyncIterator[str]:
    """Yield the URL of an empty database of `backend`, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / f'im-{secrets.token_hex(4)}.db'}"
        return
    name = f"im_test_{os.getpid()}_{secrets.token_hex(3)}"
    if backend == "mysql":
        async with fresh_mysql_database(name) as url:
            yield url
        return
    base = make_url(POSTGRES_URL)
    admin = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def fresh_mysql_database(name: str) -> AsyncIterator[str]:
    """A database whose defaults are deliberately wrong (latin1): the migrations must make
    every table utf8mb4 with a binary collation themselves, whatever an operator created."""
    base = make_url(MYSQL_URL)
    admin = await asyncmy.connect(
        host=base.host or "127.0.0.1",
        port=base.port or 3306,
        user=base.username or "root",
        password=base.password or "",
        autocommit=True,
    )
    try:
        async with admin.cursor() as cursor:
            await cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET latin1")
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.cursor() as cursor:
            await cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        await admin.ensure_closed()


async def truncate_all(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                await connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608
