"""Repositories against a real database: CRUD, constraints, and the group-row seq lock."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.db.base import utcnow
from app.db.session import Database
from app.models import AIInteractionRecord, AIStatus, Message, MessageType, UserRole
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

T = TypeVar("T")


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
        reserved = await GroupRepository(session).reserve_seqs(group_id, 1)
        assert reserved is not None
        seq, _ = reserved
        await MessageRepository(session).create_many([_message(group_id, user_id, seq, content)])
    return seq


def _message(
    group_id: str, user_id: str, seq: int, content: str, client_msg_id: str | None = None
) -> Message:
    return Message(
        message_id=generate_message_id(),
        group_id=group_id,
        seq=seq,
        from_user_id=user_id,
        from_user_role=UserRole.DOCTOR,
        msg_type=MessageType.TEXT,
        msg_content=content,
        client_msg_id=client_msg_id,
    )


async def _seqs(db: Database, group_id: str) -> list[int]:
    async with db.read() as session:
        rows = await session.execute(
            select(Message.seq).where(Message.group_id == group_id).order_by(Message.seq)
        )
    return list(rows.scalars())


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
    assert await _seqs(db, group_id) == list(range(1, 51))
    async with db.read() as session:
        group = await GroupRepository(session).get_by_id(group_id)
    assert group is not None and group.last_seq == 50


async def test_reserving_several_seqs_at_once(db: Database) -> None:
    _, group_id = await _user_and_group(db)
    async with db.write() as session, session.begin():
        groups = GroupRepository(session)
        assert await groups.reserve_seqs(group_id, 3) == (3, True)
        assert await groups.reserve_seqs(group_id, 2) == (5, True)
        assert await groups.reserve_seqs("group_missing", 1) is None


async def test_seq_is_unique_per_group(db: Database) -> None:
    user_id, group_id = await _user_and_group(db)
    await _insert(db, group_id, user_id, "first")
    with pytest.raises(IntegrityError):
        async with db.write() as session, session.begin():
            await MessageRepository(session).create_many([_message(group_id, user_id, 1, "dup")])


async def test_client_msg_id_is_unique_per_sender(db: Database) -> None:
    user_id, group_id = await _user_and_group(db)
    async with db.write() as session, session.begin():
        await MessageRepository(session).create_many(
            [_message(group_id, user_id, 1, "a", client_msg_id="c-1")]
        )
    with pytest.raises(IntegrityError):
        async with db.write() as session, session.begin():
            await MessageRepository(session).create_many(
                [_message(group_id, user_id, 99, "b", client_msg_id="c-1")]
            )
    async with db.read() as session:
        found = await MessageRepository(session).get_by_client_msg_id(user_id, "c-1")
    assert found is not None and found.msg_content == "a"


async def _staged_record(db: Database, due_at: datetime) -> tuple[str, str]:
    user_id, group_id = await _user_and_group(db)
    await _insert(db, group_id, user_id, "question")
    async with db.read() as session:
        message = await session.scalar(select(Message).where(Message.group_id == group_id))
    assert message is not None
    record_id = generate_record_id()
    async with db.write() as session, session.begin():
        AIInteractionRepository(session).stage(
            record_id, group_id, message.message_id, "mock://", "question", due_at=due_at
        )
    return record_id, group_id


async def _in_tx(db: Database, action: Callable[[AIInteractionRepository], Awaitable[T]]) -> T:
    async with db.write() as session, session.begin():
        return await action(AIInteractionRepository(session))


async def test_every_transition_needs_the_state_and_token_it_expects(db: Database) -> None:
    """Before the fix, a late worker could mark FAILED a record another worker had completed
    (seen: FAILED with the reply's ai_message_id)."""
    now = utcnow()
    record_id, group_id = await _staged_record(db, now)
    lease = now + timedelta(seconds=30)
    assert await _in_tx(db, lambda r: r.claim(record_id, "t1", lease))
    assert not await _in_tx(db, lambda r: r.claim(record_id, "t2", lease)), "claimed once"
    done: dict[str, Any] = {
        "ai_message_id": "msg_reply",
        "response_content": "answer",
        "request_content": "{}",
        "duration_ms": 12,
        "attempts": 1,
    }
    assert not await _in_tx(db, lambda r: r.complete(record_id, "t2", **done)), "wrong token"
    assert await _in_tx(db, lambda r: r.complete(record_id, "t1", **done))
    late: dict[str, Any] = {
        "error_message": "late",
        "request_content": "{}",
        "duration_ms": 1,
        "attempts": 3,
    }
    assert not await _in_tx(db, lambda r: r.fail(record_id, "t1", **late)), "already done"
    async with db.read() as session:
        repo = AIInteractionRepository(session)
        record = await session.scalar(
            select(AIInteractionRecord).where(AIInteractionRecord.record_id == record_id)
        )
        records, total = await repo.get_by_group(group_id, 1, 10)
    assert record is not None
    assert (record.status, record.ai_message_id, record.error_message) == (
        AIStatus.SUCCESS,
        "msg_reply",
        None,
    )
    assert (record.attempts, record.duration_ms, record.due_at) == (1, 12, None)
    assert total == 1 and records[0].record_id == record_id


async def test_due_records_are_requeued_with_back_off(db: Database) -> None:
    """Before the fix every record waiting more than 10 s in a worker queue was sent again
    every sweep; now each re-dispatch doubles the wait before the next."""
    t0 = utcnow()
    grace = timedelta(seconds=10)
    record_id, _ = await _staged_record(db, due_at=t0)

    def sweep(at: timedelta) -> Callable[[AIInteractionRepository], Awaitable[list[str]]]:
        return lambda r: r.requeue_due(t0 + at, grace)

    assert await _in_tx(db, sweep(timedelta(seconds=-1))) == []
    assert await _in_tx(db, sweep(timedelta(seconds=1))) == [record_id]  # next due at +21 s
    assert await _in_tx(db, sweep(timedelta(seconds=20))) == []
    assert await _in_tx(db, sweep(timedelta(seconds=22))) == [record_id]  # next due at +62 s
    assert await _in_tx(db, sweep(timedelta(seconds=61))) == []
    assert await _in_tx(db, sweep(timedelta(seconds=63))) == [record_id]
    async with db.read() as session:
        record = await session.scalar(
            select(AIInteractionRecord).where(AIInteractionRecord.record_id == record_id)
        )
    assert record is not None and (record.status, record.dispatches) == (AIStatus.PENDING, 3)


async def test_a_lapsed_lease_is_requeued_and_the_old_claim_is_void(db: Database) -> None:
    t0 = utcnow()
    record_id, _ = await _staged_record(db, due_at=t0)
    lease = t0 + timedelta(seconds=5)
    assert await _in_tx(db, lambda r: r.claim(record_id, "old", lease))
    grace = timedelta(seconds=10)
    assert await _in_tx(db, lambda r: r.requeue_due(t0 + timedelta(seconds=4), grace)) == []
    assert await _in_tx(db, lambda r: r.requeue_due(t0 + timedelta(seconds=6), grace)) == [
        record_id
    ]
    assert await _in_tx(db, lambda r: r.claim(record_id, "new", lease))
    failed: dict[str, Any] = {
        "error_message": "x",
        "request_content": "{}",
        "duration_ms": 1,
        "attempts": 1,
    }
    assert not await _in_tx(db, lambda r: r.fail(record_id, "old", **failed))
    assert await _in_tx(db, lambda r: r.fail(record_id, "new", **failed))
