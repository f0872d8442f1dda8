"""Queries on `groups`, including the seq counter that orders a group's messages."""

from collections.abc import Iterable, Mapping

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.models import Group, GroupMember


class GroupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self, group_id: str, group_name: str, description: str | None, created_by: str
    ) -> Group:
        group = Group(
            group_id=group_id,
            group_name=group_name,
            description=description,
            created_by=created_by,
            ai_enabled=True,
            last_seq=0,
        )
        self.session.add(group)
        await self.session.flush()
        return group

    async def get_by_id(self, group_id: str) -> Group | None:
        result = await self.session.execute(select(Group).where(Group.group_id == group_id))
        return result.scalar_one_or_none()

    async def exists(self, group_id: str) -> bool:
        result = await self.session.execute(select(Group.id).where(Group.group_id == group_id))
        return result.first() is not None

    async def lock(self, group_id: str) -> None:
        """Lock the group row until the transaction ends (SQLite's write lock already covers
        the whole database), so that checks made under it cannot race with another writer."""
        await self.session.execute(
            select(Group.id).where(Group.group_id == group_id).with_for_update()
        )

    async def update(self, group: Group) -> Group:
        await self.session.flush()
        return group

    async def reserve_seqs(self, group_id: str, count: int) -> tuple[int, bool] | None:
        """Advance the group's counter by `count`; return (last reserved seq, ai_enabled), so
        the reserved seqs are last-count+1 … last. None if there is no such group.

        The group row stays locked until the transaction ends, so concurrent writers to one
        group queue here and their seqs commit in order. One `UPDATE … RETURNING` where the
        database has it (PostgreSQL, SQLite); MySQL/MariaDB have no RETURNING on UPDATE, so
        there `SELECT … FOR UPDATE` takes the lock and reads the counter, then the UPDATE
        writes it, both in the caller's transaction.
        """
        bump = (
            update(Group)
            .where(Group.group_id == group_id)
            .values(last_seq=Group.last_seq + count, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if self.session.get_bind().dialect.update_returning:
            result = await self.session.execute(bump.returning(Group.last_seq, Group.ai_enabled))
            row = result.first()
            return None if row is None else (row[0], row[1])
        locked = await self.session.execute(
            select(Group.last_seq, Group.ai_enabled)
            .where(Group.group_id == group_id)
            .with_for_update()
        )
        current = locked.first()
        if current is None:
            return None
        await self.session.execute(bump)
        return current[0] + count, current[1]

    async def reserve_seqs_many(self, counts: Mapping[str, int]) -> dict[str, tuple[int, bool]]:
        """`reserve_seqs` for several groups at once, in a fixed number of statements however
        many groups: (last reserved seq, ai_enabled) per group that exists.

        SQLite (whose write lock already serialises writers): one `UPDATE … CASE … RETURNING`.
        PostgreSQL and MySQL: the rows are locked in group_id order first (`SELECT … ORDER BY
        group_id FOR UPDATE`: writers on other instances lock in the same order, so they never
        deadlock), then one `UPDATE … CASE`.
        """
        if len(counts) == 1:
            [(group_id, count)] = counts.items()
            reserved = await self.reserve_seqs(group_id, count)
            return {} if reserved is None else {group_id: reserved}
        ids = sorted(counts)
        bump = (
            update(Group)
            .where(Group.group_id.in_(ids))
            .values(
                last_seq=Group.last_seq + case(counts, value=Group.group_id, else_=0),
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        if self.session.get_bind().dialect.name == "sqlite":
            result = await self.session.execute(
                bump.returning(Group.group_id, Group.last_seq, Group.ai_enabled)
            )
            return {group_id: (last_seq, ai) for group_id, last_seq, ai in result}
        locked = await self.session.execute(
            select(Group.group_id, Group.last_seq, Group.ai_enabled)
            .where(Group.group_id.in_(ids))
            .order_by(Group.group_id)
            .with_for_update()
        )
        current = {group_id: (last_seq, ai) for group_id, last_seq, ai in locked}
        if current:
            await self.session.execute(bump)
        return {gid: (last + counts[gid], ai) for gid, (last, ai) in current.items()}

    async def existing_ids(self, group_ids: Iterable[str]) -> set[str]:
        ids = list(set(group_ids))
        if not ids:
            return set()
        result = await self.session.execute(select(Group.group_id).where(Group.group_id.in_(ids)))
        return set(result.scalars())

    async def member_count(self, group_id: str) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(GroupMember).where(GroupMember.group_id == group_id)
        )
        return int(result.scalar_one())
