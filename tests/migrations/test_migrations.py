"""The first revision builds the SPEC §3 schema, and downgrades cleanly, on every backend."""

from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.db.database import create_engine
from tests.databases import backends, downgrade, fresh_database, migrate

EXPECTED_INDEXES = {
    "users": {"idx_users_user_id", "idx_users_user_role"},
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
    "message_revisions": {"idx_message_revisions_message_id"},
}
EXPECTED_UNIQUES = {
    "group_members": {"uk_group_user"},
    "messages": {"uk_group_seq", "uk_sender_client_msg"},
}


def _schema(connection: AsyncConnection) -> dict[str, dict[str, set[str]]]:
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

            await downgrade(url)
            async with engine.connect() as connection:
                assert await connection.run_sync(_schema) == {}
        finally:
            await engine.dispose()
