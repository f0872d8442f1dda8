"""Queries on `group_members`."""

from collections.abc import Iterable

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.models import Group, GroupMember


class GroupMemberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_member(
        self, group_id: str, user_id: str, user_role: str, last_read_seq: int = 0
    ) -> GroupMember:
        member = GroupMember(
            group_id=group_id,
            user_id=user_id,
            user_role=user_role,
            joined_at=utcnow(),
            last_read_seq=last_read_seq,
        )
        self.session.add(member)
        await self.session.flush()
        return member

    async def get_member(self, group_id: str, user_id: str) -> GroupMember | None:
        result = await self.session.execute(
            select(GroupMember).where(
                GroupMember.group_id == group_id, GroupMember.user_id == user_id
            )
        )
        return result.scalar_one_or_none()

    async def get_roles(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Group role of each (group_id, user_id) pair that is a membership."""
        wanted = list(set(pairs))
        if not wanted:
            return {}
        result = await self.session.execute(
            select(GroupMember.group_id, GroupMember.user_id, GroupMember.user_role).where(
                tuple_(GroupMember.group_id, GroupMember.user_id).in_(wanted)
            )
        )
        return {(group_id, user_id): role for group_id, user_id, role in result}

    async def get_members_by_group(self, group_id: str) -> list[GroupMember]:
        result = await self.session.execute(
            select(GroupMember).where(GroupMember.group_id == group_id).order_by(GroupMember.id)
        )
        return list(result.scalars())

    async def groups_of_users(self, user_ids: Iterable[str]) -> dict[str, set[str]]:
        """The groups of each given user (users in no group are absent)."""
        ids = list(set(user_ids))
        found: dict[str, set[str]] = {}
        for start in range(0, len(ids), 1000):
            rows = await self.session.execute(
                select(GroupMember.user_id, GroupMember.group_id).where(
                    GroupMember.user_id.in_(ids[start : start + 1000])
                )
            )
            for user_id, group_id in rows:
                found.setdefault(user_id, set()).add(group_id)
        return found

    async def get_memberships(self, user_id: str) -> list[tuple[GroupMember, Group]]:
        result = await self.session.execute(
            select(GroupMember, Group)
            .join(Group, Group.group_id == GroupMember.group_id)
            .where(GroupMember.user_id == user_id)
        )
        return [(member, group) for member, group in result]

    async def get_co_member_ids(self, user_id: str) -> set[str]:
        """Everyone who shares at least one group with `user_id` (the user included)."""
        mine = select(GroupMember.group_id).where(GroupMember.user_id == user_id)
        result = await self.session.execute(
            select(GroupMember.user_id).where(GroupMember.group_id.in_(mine)).distinct()
        )
        return set(result.scalars())

    async def remove_member(self, group_id: str, user_id: str) -> bool:
        result = await self.session.execute(
            delete(GroupMember).where(
                GroupMember.group_id == group_id, GroupMember.user_id == user_id
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def raise_read_seq(self, group_id: str, user_id: str, seq: int) -> bool:
        """Move the read mark forward to `seq` (never backwards); True when it moved."""
        result = await self.session.execute(
            update(GroupMember)
            .where(
                GroupMember.group_id == group_id,
                GroupMember.user_id == user_id,
                GroupMember.last_read_seq < seq,
            )
            .values(last_read_seq=seq, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def count_role(self, group_id: str, user_role: str) -> int:
        result = await self.session.execute(
            select(func.count())
            .select_from(GroupMember)
            .where(GroupMember.group_id == group_id, GroupMember.user_role == user_role)
        )
        return int(result.scalar_one())

    async def count_by_groups(self, group_ids: list[str]) -> dict[str, int]:
        if not group_ids:
            return {}
        rows = await self.session.execute(
            select(GroupMember.group_id, func.count())
            .where(GroupMember.group_id.in_(group_ids))
            .group_by(GroupMember.group_id)
        )
        return {group_id: int(count) for group_id, count in rows}
