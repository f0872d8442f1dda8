"""Revision 0005 (SPEC §11) on a database holding messages: old rows read as unchanged
messages, the new kinds are accepted, and a downgrade keeps the log dense."""

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db.database import create_engine
from tests.databases import backends, downgrade, fresh_database, migrate

SEED = (
    "INSERT INTO users (user_id, username, user_role) VALUES ('user_p', 'p', 'PATIENT')",
    "INSERT INTO groups (group_id, group_name, created_by, ai_enabled, last_seq) "
    "VALUES ('group_g', 'g', 'user_p', true, 1)",
    "INSERT INTO messages (message_id, group_id, seq, from_user_id, from_user_role, msg_type, "
    "msg_content) VALUES ('msg_1', 'group_g', 1, 'user_p', 'PATIENT', 'TEXT', 'hello')",
)
CHANGES = (
    "INSERT INTO messages (message_id, group_id, seq, from_user_id, from_user_role, msg_type, "
    "msg_content, target_message_id) VALUES "
    "('msg_2', 'group_g', 2, 'user_p', 'PATIENT', 'EDIT', 'hello!', 'msg_1'), "
    "('msg_3', 'group_g', 3, 'user_p', 'PATIENT', 'RECALL', '', 'msg_1')",
    "UPDATE groups SET last_seq = 3",
)


async def _run(engine: AsyncEngine, *statements: str) -> None:
    async with engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))


@pytest.mark.parametrize("backend", backends())
async def test_0005_keeps_old_messages_and_downgrades_to_a_dense_log(
    backend: str, tmp_path: Path
) -> None:
    async with fresh_database(backend, tmp_path) as url:
        await migrate(url, "0003")
        engine = create_engine(Settings(_env_file=None, database_url=url), url=url)
        try:
            await _run(engine, *SEED)
            await migrate(url, "0005")
            async with engine.connect() as connection:
                old = (
                    await connection.execute(
                        text(
                            "SELECT msg_content, reply_to, mentions, target_message_id, "
                            "edited_at, recalled_at FROM messages WHERE message_id = 'msg_1'"
                        )
                    )
                ).one()
            assert tuple(old) == ("hello", None, None, None, None, None)

            await _run(engine, *CHANGES)
            with pytest.raises(IntegrityError):
                await _run(
                    engine,
                    "UPDATE messages SET msg_type = 'VOICE' WHERE message_id = 'msg_1'",
                )

            await downgrade(url, "0003")
            async with engine.connect() as connection:
                rows = (
                    await connection.execute(
                        text("SELECT seq, msg_type, msg_content FROM messages ORDER BY seq")
                    )
                ).all()
            assert [tuple(row) for row in rows] == [
                (1, "TEXT", "hello"),
                (2, "SYSTEM", "message edited"),
                (3, "SYSTEM", "message recalled"),
            ]
        finally:
            await engine.dispose()
