"""The migrations build the SPEC §3 and §10 schema with 64-bit ids, match the models (`alembic
check`) and downgrade cleanly, on every backend."""

import asyncio
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import BigInteger, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.db.database import create_engine, mysql_collation
from tests.databases import alembic_config, backends, downgrade, fresh_database, migrate

EXPECTED_INDEXES = {
    "users": {"idx_users_user_id", "idx_users_user_role", "idx_users_login"},
    "groups": {"idx_groups_group_id", "idx_created_by"},
    "group_members": {
        "idx_group_members_group_id",
        "idx_group_members_user_id",
        "idx_group_members_user_role",
    },
    "messages": {
        "idx_messages_group_id",
        "idx_from_user_id",
        "idx_created_at",
        "idx_group_created",
    },
    "ai_interaction_records": {"idx_ai_interaction_records_group_id"},
    "sessions": {"idx_sessions_session_id", "idx_sessions_user_id"},
    "refresh_tokens": {"idx_refresh_tokens_token_hash", "idx_refresh_tokens_session_id"},
    "invites": {"idx_invites_code", "idx_invites_group_id", "idx_invites_purpose"},
    "password_reset_codes": {
        "idx_password_reset_codes_code_hash",
        "idx_password_reset_codes_user_id",
    },
    "message_revisions": {"idx_message_revisions_message_id"},
    "attachments": {
        "idx_attachments_attachment_id",
        "idx_attachments_group_id",
        "idx_attachments_message_id",
        "idx_attachments_created_at",
    },
    "webhook_deliveries": {
        "idx_webhook_deliveries_delivery_id",
        "idx_webhook_deliveries_status_due",
        "idx_webhook_deliveries_group_status",
    },
    "push_subscriptions": {
        "idx_push_subscriptions_endpoint_hash",
        "idx_push_subscriptions_user_id",
    },
    "push_marks": {"idx_push_marks_user_group"},
}
EXPECTED_UNIQUES = {
    "group_members": {"uk_group_user"},
    "messages": {"uk_group_seq", "uk_sender_client_msg"},
}


def _schema(connection: Connection) -> dict[str, dict[str, set[str]]]:
    inspector = inspect(connection)
    schema: dict[str, dict[str, set[str]]] = {}
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        schema[table] = {
            "columns": {c["name"] for c in inspector.get_columns(table)},
            "indexes": {i["name"] for i in inspector.get_indexes(table) if i["name"]},
            "uniques": {u["name"] for u in inspector.get_unique_constraints(table) if u["name"]},
        }
    return schema


@pytest.mark.parametrize("backend", backends())
async def test_upgrade_creates_schema_and_downgrade_removes_it(
    backend: str, tmp_path: Path
) -> None:
    async with fresh_database(backend, tmp_path) as url:
        await migrate(url)
        engine = create_engine(Settings(_env_file=None, database_url=url), url=url)
        try:
            async with engine.connect() as connection:
                schema = await connection.run_sync(_schema)
                if backend == "mysql":
                    await _assert_mysql_charset(connection)
            assert set(schema) == set(EXPECTED_INDEXES)
            for table, indexes in EXPECTED_INDEXES.items():
                assert indexes <= schema[table]["indexes"], table
                assert {"id", "created_at", "updated_at"} <= schema[table]["columns"]
            for table, uniques in EXPECTED_UNIQUES.items():
                assert uniques <= schema[table]["uniques"] | schema[table]["indexes"], table
            assert {"seq", "client_msg_id", "from_user_role"} <= schema["messages"]["columns"]
            assert {
                "reply_to",
                "mentions",
                "target_message_id",
                "edited_at",
                "recalled_at",
            } <= schema["messages"]["columns"]
            assert {"ai_enabled", "last_seq"} <= schema["groups"]["columns"]
            assert "last_read_seq" in schema["group_members"]["columns"]
            assert {"login", "password_hash"} <= schema["users"]["columns"]
            assert {"last_used_at", "user_agent", "revoked_at"} <= schema["sessions"]["columns"]

            await downgrade(url)
            async with engine.connect() as connection:
                assert await connection.run_sync(_schema) == {}
        finally:
            await engine.dispose()


@pytest.mark.parametrize("backend", backends())
async def test_accounts_revision_keeps_existing_users(backend: str, tmp_path: Path) -> None:
    """0004 on a database with users: they keep working, without login or password; its
    downgrade removes only what it added."""
    async with fresh_database(backend, tmp_path) as url:
        await migrate(url, "0003")
        engine = create_engine(Settings(_env_file=None, database_url=url), url=url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "INSERT INTO users (user_id, username, user_role) "
                        "VALUES ('user_old', 'Old', 'PATIENT')"
                    )
                )
            await migrate(url)
            async with engine.connect() as connection:
                row = (
                    await connection.execute(
                        text("SELECT login, password_hash FROM users WHERE user_id = 'user_old'")
                    )
                ).one()
            assert tuple(row) == (None, None)
            await downgrade(url, "0003")
            async with engine.connect() as connection:
                schema = await connection.run_sync(_schema)
                count = (await connection.execute(text("SELECT count(*) FROM users"))).scalar()
            assert "sessions" not in schema and "invites" not in schema
            assert "login" not in schema["users"]["columns"]
            assert count == 1
        finally:
            await engine.dispose()


INITIAL_TABLES = ("users", "groups", "group_members", "messages", "ai_interaction_records")


def _id_types(connection: Connection) -> dict[str, object]:
    """The `id` type of the tables that 0001 creates (later revisions add more)."""
    inspector = inspect(connection)
    return {
        table: next(c["type"] for c in inspector.get_columns(table) if c["name"] == "id")
        for table in INITIAL_TABLES
    }


@pytest.mark.parametrize("backend", backends())
async def test_ids_are_64_bit_at_head_and_32_bit_at_0001(backend: str, tmp_path: Path) -> None:
    async with fresh_database(backend, tmp_path) as url:
        await migrate(url)
        await downgrade(url, "0001")
        engine = create_engine(Settings(_env_file=None, database_url=url), url=url)
        try:
            async with engine.connect() as connection:
                types = await connection.run_sync(_id_types)
            assert not any(isinstance(t, BigInteger) for t in types.values()), types
            await migrate(url)
            async with engine.connect() as connection:
                types = await connection.run_sync(_id_types)
                if backend == "sqlite":  # INTEGER PRIMARY KEY is the 64-bit rowid
                    assert {str(t) for t in types.values()} == {"INTEGER"}
                else:
                    assert all(isinstance(t, BigInteger) for t in types.values()), types
                # The id generator goes past 2^31 too (PostgreSQL's sequence is typed apart).
                big = 2**40
                await _insert_user(connection, backend, big)
                assert await _insert_user(connection, backend, None) == big + 1
                await connection.commit()
        finally:
            await engine.dispose()


async def _insert_user(connection: AsyncConnection, backend: str, row_id: int | None) -> int:
    columns, values = ("user_id, username, user_role", ":user_id, 'n', 'PATIENT'")
    if row_id is not None:
        columns, values = f"id, {columns}", f":id, {values}"
    await connection.execute(
        text(f"INSERT INTO users ({columns}) VALUES ({values})"),  # noqa: S608
        {"id": row_id, "user_id": f"user_{row_id}"},
    )
    if backend == "postgres" and row_id is not None:
        await connection.execute(text("SELECT setval('users_id_seq', :id)"), {"id": row_id})
    return int((await connection.execute(text("SELECT MAX(id) FROM users"))).scalar_one())


@pytest.mark.parametrize("backend", backends())
async def test_models_match_the_migrated_schema(backend: str, tmp_path: Path) -> None:
    """`alembic check`: head and the models agree (types, indexes, constraints)."""
    async with fresh_database(backend, tmp_path) as url:
        await migrate(url)
        await asyncio.to_thread(command.check, alembic_config(url))


async def _assert_mysql_charset(connection: AsyncConnection) -> None:
    """Whatever the database's defaults (the test database's are latin1), every table and text
    column is utf8mb4 with the binary NO PAD collation."""
    expected = mysql_collation(connection.dialect)
    assert "_ci" not in expected and "bin" in expected
    tables = await connection.execute(
        text(
            "SELECT table_name, table_collation FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name != 'alembic_version'"
        )
    )
    collations: dict[str, str] = dict(tables.all())
    assert set(EXPECTED_INDEXES) <= set(collations)
    assert set(collations.values()) == {expected}, "every table, later ones too"
    columns = await connection.execute(
        text(
            "SELECT DISTINCT character_set_name, collation_name FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND table_name != 'alembic_version' "
            "AND collation_name IS NOT NULL "
            # MariaDB's JSON is LONGTEXT with its own fixed collation (never compared on).
            "AND NOT (table_name = 'messages' AND column_name IN ('mentions', 'attachment'))"
        )
    )
    assert columns.all() == [("utf8mb4", expected)]
