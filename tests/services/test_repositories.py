"""Repositories against a real database: CRUD, constraints, and the group-row seq lock."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from app.db.base import utcnow
from app.db.session import Database
from app.models import AIStatus, MessageType, UserRole
from app.repositories.ai_interaction_repository import AIInteractionRepository
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.repositories.message_repository import MessageRepository
from app.repositories.user_repository import UserRepository
from app.utils.id_generator import (
    generate_group_id,
    generate_message_id,
    generate_record_id,
    generate_user_id,
)


async def _user_and_group(db: Database) -> tuple[str, str]:
    async with db.write() as session, session.begin():
        user = await UserRepository(session).create(generate_user_id(), "Dr A", UserRole.DOCTOR)
        group = await GroupRepository(session).create(generate_group_id(), "G", None, user.user_id)
        await GroupMemberRepository(session).add_member(
            group.group_id, user.user_id, UserRole.DOCTOR
        )
    return user.user_id, group.group_id


async def _insert(db: Database, group_id: str, user_id: str, content: str) -> int:
    async with db.write() as session, session.begin():
        bumped = await GroupRepository(session).next_seq(group_id)
        assert bumped is not None
        seq, _ = bumped
        await MessageRepository(session).create(
            generate_message_id(),
            group_id,
            user_id,
            MessageType.TEXT,
            content,
            seq=seq,
            from_user_role=UserRole.DOCTOR,
        )
    return seq


async def test_user_crud_and_role_helpers(db: Database) -> None:
    async with db.write() as session, session.begin():
        repo = UserRepository(session)
        user = await repo.create(generate_user_id(), "Li", UserRole.PATIENT)
        assert user.is_patient() and not user.is_doctor() and not user.is_ai_assistant()
        user.user_role = UserRole.DOCTOR
        await repo.update(user)
    async with db.read() as session:
        loaded = await UserRepository(session).get_by_id(user.user_id)
        assert loaded is not None and loaded.is_doctor()
        assert loaded.created_at.tzinfo is not None
        assert await UserRepository(session).get_by_id("user_missing") is None


async def test_role_check_constraint_refuses_unknown_role(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.write() as session, session.begin():
            await UserRepository(session).create(generate_user_id(), "X", "NURSE")


async def test_member_unique_and_removal(db: Database) -> None:
    user_id, group_id = await _user_and_group(db)
    with pytest.raises(IntegrityError):
        async with db.write() as session, session.begin():
            await GroupMemberRepository(session).add_member(group_id, user_id, UserRole.DOCTOR)
    async with db.write() as session, session.begin():
        members = GroupMemberRepository(session)
        assert [m.user_id for m in await members.get_members_by_group(group_id)] == [user_id]
        assert await members.remove_member(group_id, user_id)
        assert not await members.remove_member(group_id, user_id)
        assert await members.get_member(group_id, user_id) is None


async def test_fifty_concurrent_inserts_get_dense_seqs(db: Database) -> None:
    user_id, group_id = await _user_and_group(db)
    seqs = await asyncio.gather(*(_insert(db, group_id, user_id, f"m{i}") for i in range(50)))
    assert sorted(seqs) == list(range(1, 51))
    async with db.read() as session:
        rows, total = await MessageRepository(session).get_by_group(group_id, 1, 100)
        group = await GroupRepository(session).get_by_id(group_id)
    assert total == 50
    assert [m.seq for m in rows] == list(range(50, 0, -1))
    assert group is not None and group.last_seq == 50


async def test_seq_is_unique_per_group(db: Database) -> None:
    user_id, group_id = await _user_and_group(db)
    await _insert(db, group_id, user_id, "first")
    with pytest.raises(IntegrityError):
        async with db.write() as session, session.begin():
            await MessageRepository(session).create(
                generate_message_id(),
                group_id,
                user_id,
                MessageType.TEXT,
                "dup",
                seq=1,
                from_user_role=UserRole.DOCTOR,
            )


async def test_client_msg_id_is_unique_per_sender(db: Database) -> None:
    user_id, group_id = await _user_and_group(db)
    async with db.write() as session, session.begin():
        bumped = await GroupRepository(session).next_seq(group_id)
        assert bumped is not None
        await MessageRepository(session).create(
            generate_message_id(),
            group_id,
            user_id,
            "TEXT",
            "a",
            seq=bumped[0],
            from_user_role=UserRole.DOCTOR,
            client_msg_id="c-1",
        )
    with pytest.raises(IntegrityError):
        async with db.write() as session, session.begin():
            await MessageRepository(session).create(
                generate_message_id(),
                group_id,
                user_id,
                "TEXT",
                "b",
                seq=99,
                from_user_role=UserRole.DOCTOR,
                client_msg_id="c-1",
            )
    async with db.read() as session:
        found = await MessageRepository(session).get_by_client_msg_id(user_id, "c-1")
    assert found is not None and found.msg_content == "a"


async def test_next_seq_of_unknown_group_is_none(db: Database) -> None:
    async with db.write() as session, session.begin():
        assert await GroupRepository(session).next_seq("group_missing") is None


async def test_ai_record_lifecycle_and_claim(db: Database) -> None:
    user_id, group_id = await _user_and_group(db)
    await _insert(db, group_id, user_id, "question")
    async with db.read() as session:
        rows, _ = await MessageRepository(session).get_by_group(group_id, 1, 1)
    record_id = generate_record_id()
    async with db.write() as session, session.begin():
        repo = AIInteractionRepository(session)
        await repo.create(record_id, group_id, rows[0].message_id, "mock://", "{}")
    async with db.write() as session, session.begin():
        repo = AIInteractionRepository(session)
        assert await repo.claim(record_id)
        assert not await repo.claim(record_id), "a record is claimed once"
        # A fresh PROCESSING record is not stale; one whose lease lapsed is requeued once.
        past, future = utcnow() - timedelta(minutes=5), utcnow() + timedelta(seconds=1)
        assert await repo.requeue_unfinished(pending_before=past, stale_before=past) == []
        assert await repo.requeue_unfinished(past, stale_before=future) == [record_id]
        assert await repo.requeue_unfinished(past, stale_before=future) == []
        assert await repo.claim(record_id)
        await repo.update_success(record_id, "msg_reply", "answer", 12)
    async with db.read() as session:
        repo = AIInteractionRepository(session)
        record = await repo.get_by_id(record_id)
        assert record is not None
        assert (record.status, record.attempts, record.duration_ms) == (AIStatus.SUCCESS, 1, 12)
        records, total = await repo.get_by_group(group_id, 1, 10)
        assert total == 1 and records[0].ai_message_id == "msg_reply"
    async with db.write() as session, session.begin():
        await AIInteractionRepository(session).update_failed(record_id, "boom")
    async with db.read() as session:
        record = await AIInteractionRepository(session).get_by_id(record_id)
        assert record is not None and record.status == AIStatus.FAILED
        assert record.error_message == "boom"
