"""Revision 0008 (SPEC §15) on a database holding AI records: old records read as REPLY
records with no requester, the copilot's kinds are accepted and no other, and a downgrade
removes the copilot's records (the previous release would take them for replies)."""

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db.database import create_engine
from tests.databases import backends, downgrade, fresh_database, migrate

RECORD = (
    "INSERT INTO ai_interaction_records "
    "(record_id, group_id, user_message_id, ai_service_url, request_content, "
)
"""The start of an insert of a record; the columns of 0005 and the values follow."""
SEED = (
    "INSERT INTO users (user_id, username, user_role) VALUES ('user_p', 'p', 'PATIENT')",
    "INSERT INTO groups (group_id, group_name, created_by, ai_enabled, last_seq) "
    "VALUES ('group_g', 'g', 'user_p', true, 1)",
    "INSERT INTO messages (message_id, group_id, seq, from_user_id, from_user_role, msg_type, "
    "msg_content) VALUES ('msg_1', 'group_g', 1, 'user_p', 'PATIENT', 'TEXT', 'hello')",
    RECORD + "status) VALUES ('record_reply', 'group_g', 'msg_1', '', 'hello', 'SUCCESS')",
)
SUMMARY = (
    RECORD + "status, kind, requested_by) VALUES "
    "('record_summary', 'group_g', 'msg_1', '', 'summarise', 'PENDING', 'SUMMARY', 'user_d')"
)
BAD_KIND = (
    RECORD + "status, kind) VALUES ('record_bad', 'group_g', 'msg_1', '', 'x', 'PENDING', 'ESSAY')"
)


async def _run(engine: AsyncEngine, *statements: str) -> None:
    async with engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))


async def _records(engine: AsyncEngine) -> list[tuple[object, ...]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT * FROM ai_interaction_records ORDER BY record_id")
        )
        return [
            tuple(row._mapping[c] for c in ("record_id", "kind", "requested_by")) for row in rows
        ]


@pytest.mark.parametrize("backend", backends())
async def test_0008_reads_old_records_as_replies_and_downgrades_without_copilot_records(
    backend: str, tmp_path: Path
) -> None:
    async with fresh_database(backend, tmp_path) as url:
        await migrate(url, "0005")
        engine = create_engine(Settings(_env_file=None, database_url=url), url=url)
        try:
            await _run(engine, *SEED)
            await migrate(url, "0008")
            assert await _records(engine) == [("record_reply", "REPLY", None)]
            await _run(engine, SUMMARY)
            with pytest.raises(IntegrityError):
                await _run(engine, BAD_KIND)

            await downgrade(url, "0005")
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text("SELECT record_id FROM ai_interaction_records")
                )
                assert [row[0] for row in rows] == ["record_reply"]
                columns = await connection.execute(text("SELECT * FROM ai_interaction_records"))
                names = set(columns.keys())
                assert not names & {"kind", "requested_by"}
            await migrate(url, "0008")
            assert await _records(engine) == [("record_reply", "REPLY", None)]
        finally:
            await engine.dispose()
