"""Many writers on one database, as several server instances would be (SPEC §3, §14).

Each `Database` below has its own engine and pool, like a separate process: the group row's
lock is all that orders them (`UPDATE … RETURNING`, or `SELECT … FOR UPDATE` then UPDATE on
MySQL/MariaDB, which have no RETURNING on UPDATE).
"""

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.config import Settings
from app.db.base import utcnow
from app.db.database import create_engine
from app.db.session import Database
from app.models import AIInteractionRecord, Message, MessageType, UserRole
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

INSTANCES = 3
WRITERS_PER_INSTANCE = 12
BATCHES_PER_WRITER = 4


@pytest.fixture
async def instances(db: Database, settings: Settings) -> AsyncIterator[list[Database]]:
    """`db` and two more engines on the same database."""
    others = [Database(create_engine(settings)) for _ in range(INSTANCES - 1)]
    try:
        yield [db, *others]
    finally:
        for other in others:
            await other.dispose()


async def _group(db: Database) -> tuple[str, str]:
    async with db.write() as session, session.begin():
        user = await UserRepository(session).create(generate_user_id(), "Dr", UserRole.DOCTOR)
        group = await GroupRepository(session).create(generate_group_id(), "G", None, user.user_id)
        await GroupMemberRepository(session).add_member(
            group.group_id, user.user_id, UserRole.DOCTOR
        )
    return user.user_id, group.group_id


async def _write_batch(db: Database, group_id: str, user_id: str, size: int) -> list[int]:
    """One transaction: reserve `size` seqs and insert them (as the group-commit writer does)."""
    async with db.write() as session, session.begin():
        reserved = await GroupRepository(session).reserve_seqs(group_id, size)
        assert reserved is not None
        last, _ = reserved
        seqs = list(range(last - size + 1, last + 1))
        await MessageRepository(session).create_many(
            [
                Message(
                    message_id=generate_message_id(),
                    group_id=group_id,
                    seq=seq,
                    from_user_id=user_id,
                    from_user_role=UserRole.DOCTOR,
                    msg_type=MessageType.TEXT,
                    msg_content=f"m{seq}",
                )
                for seq in seqs
            ]
        )
    return seqs


async def _committed_seqs(db: Database, group_id: str) -> list[int]:
    async with db.read() as session:
        result = await session.execute(
            select(Message.seq).where(Message.group_id == group_id).order_by(Message.seq)
        )
        return list(result.scalars())


async def test_many_writers_on_several_engines_get_dense_seqs_committed_in_order(
    instances: list[Database],
) -> None:
    user_id, group_id = await _group(instances[0])
    rng = random.Random(7)
    sizes = [
        [rng.randint(1, 3) for _ in range(BATCHES_PER_WRITER)]
        for _ in range(INSTANCES * WRITERS_PER_INSTANCE)
    ]
    total = sum(map(sum, sizes))
    done = asyncio.Event()
    snapshots: list[list[int]] = []

    async def writer(db: Database, batches: list[int]) -> list[int]:
        return [seq for size in batches for seq in await _write_batch(db, group_id, user_id, size)]

    async def reader() -> None:
        """A client reading while writers commit only ever sees a prefix 1..N."""
        while not done.is_set():
            snapshots.append(await _committed_seqs(instances[-1], group_id))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(reader())
    try:
        results = await asyncio.wait_for(
            asyncio.gather(
                *(writer(instances[n % INSTANCES], batches) for n, batches in enumerate(sizes))
            ),
            timeout=90,
        )
    finally:
        done.set()
        await watcher
    assigned = sorted(seq for seqs in results for seq in seqs)
    assert assigned == list(range(1, total + 1))
    assert await _committed_seqs(instances[0], group_id) == assigned
    async with instances[1].read() as session:
        group = await GroupRepository(session).get_by_id(group_id)
    assert group is not None and group.last_seq == total
    assert len(snapshots) > 1
    for seen in snapshots:
        assert seen == list(range(1, len(seen) + 1)), "a later seq committed before an earlier"


async def test_concurrent_sweepers_requeue_each_record_once(instances: list[Database]) -> None:
    user_id, group_id = await _group(instances[0])
    [seq] = await _write_batch(instances[0], group_id, user_id, 1)
    async with instances[0].read() as session:
        stored = await session.execute(
            select(Message.message_id).where(Message.group_id == group_id, Message.seq == seq)
        )
        message_id = stored.scalar_one()
    record_ids = [generate_record_id() for _ in range(30)]
    async with instances[0].write() as session, session.begin():
        repo = AIInteractionRepository(session)
        for record_id in record_ids:
            repo.stage(record_id, group_id, message_id, "mock://", "{}", due_at=utcnow())
    cutoff = utcnow()

    async def sweep(db: Database) -> list[str]:
        async with db.write() as session, session.begin():
            return await AIInteractionRepository(session).requeue_due(
                utcnow(), timedelta(seconds=10), limit=20
            )

    rounds = await asyncio.gather(*(sweep(db) for db in instances for _ in range(3)))
    swept = [record_id for found in rounds for record_id in found]
    assert len(swept) == len(set(swept)), "a record requeued twice"
    while found := await sweep(instances[0]):  # what racing sweepers left for the next round
        swept.extend(found)
    assert sorted(swept) == sorted(record_ids), "every record once, none twice"
    async with instances[0].read() as session:
        touched = await session.execute(
            select(AIInteractionRecord.updated_at).where(AIInteractionRecord.group_id == group_id)
        )
        assert all(stamp >= cutoff for stamp in touched.scalars())


async def test_writers_reserving_several_groups_at_once_never_deadlock(
    instances: list[Database],
) -> None:
    """Batches that span several groups reserve them in one go (`reserve_seqs_many`): writers on
    several engines, each listing the groups in its own order, get dense seqs per group and no
    deadlock (the rows are locked in group_id order whatever the caller's order)."""
    groups = [(await _group(instances[0]))[1] for _ in range(4)]

    async def writer(db: Database, rounds: int) -> dict[str, list[int]]:
        got: dict[str, list[int]] = {group_id: [] for group_id in groups}
        for _ in range(rounds):
            wanted = {group_id: random.randint(1, 3) for group_id in random.sample(groups, 3)}
            async with db.write() as session, session.begin():
                reserved = await GroupRepository(session).reserve_seqs_many(
                    dict(reversed(list(wanted.items())))
                )
            for group_id, (last, _) in reserved.items():
                got[group_id] += list(range(last - wanted[group_id] + 1, last + 1))
        return got

    results = await asyncio.wait_for(
        asyncio.gather(*(writer(instances[n % INSTANCES], 6) for n in range(12))), timeout=60
    )
    for group_id in groups:
        seqs = sorted(seq for got in results for seq in got[group_id])
        assert seqs == list(range(1, len(seqs) + 1)), group_id
    async with instances[0].write() as session, session.begin():
        assert await GroupRepository(session).reserve_seqs_many(
            {groups[0]: 1, "group_missing": 2}
        ) == {groups[0]: (len([s for got in results for s in got[groups[0]]]) + 1, True)}
