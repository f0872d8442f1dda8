"""Queries on `messages`: insert, idempotency look-ups, changes, last messages, unread counts.

History pages and sync read through message_reads.py, the AI's reads through ai_reads.py."""

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.models import Group, GroupMember, Message, MessageType
from app.models.enums import CHANGE_TYPES

NOT_A_CHANGE = Message.msg_type.not_in(CHANGE_TYPES)


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_id(self, message_id: str) -> Message | None:
        result = await self.session.execute(select(Message).where(Message.message_id == message_id))
        return result.scalar_one_or_none()

    async def get_placement(self, message_id: str) -> tuple[str, str] | None:
        """(group_id, msg_type) of a message, or None if there is no such message."""
        result = await self.session.execute(
            select(Message.group_id, Message.msg_type).where(Message.message_id == message_id)
        )
        row = result.first()
        return None if row is None else (row[0], row[1])

    async def get_by_client_msg_id(self, from_user_id: str, client_msg_id: str) -> Message | None:
        result = await self.session.execute(
            select(Message).where(
                Message.from_user_id == from_user_id, Message.client_msg_id == client_msg_id
            )
        )
        return result.scalar_one_or_none()

    async def get_by_client_msg_ids(
        self, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], Message]:
        """Messages already stored under each (from_user_id, client_msg_id)."""
        wanted = list(set(keys))
        if not wanted:
            return {}
        result = await self.session.execute(
            select(Message).where(tuple_(Message.from_user_id, Message.client_msg_id).in_(wanted))
        )
        return {(m.from_user_id, m.client_msg_id or ""): m for m in result.scalars()}

    async def create_many(self, messages: list[Message]) -> list[Message]:
        """Insert several messages in one statement."""
        self.session.add_all(messages)
        await self.session.flush()
        return messages

    async def empty_edits_of(self, target: Message) -> None:
        """Empty the content of the EDIT entries that change `target` (it was recalled). They
        follow it in its group's log, so the group's seq index bounds the search."""
        await self.session.execute(
            update(Message)
            .where(
                Message.group_id == target.group_id,
                Message.seq > target.seq,
                Message.target_message_id == target.message_id,
                Message.msg_type == MessageType.EDIT,
            )
            .values(msg_content="", updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )

    async def get_last_messages(self, group_ids: Sequence[str]) -> dict[str, Message]:
        """Each group's latest message that is not an EDIT or RECALL entry, keyed by group.

        Per group, a correlated subquery walks the group's seq index backwards to the first
        such message (usually the last one), instead of reading the whole log.
        """
        if not group_ids:
            return {}
        last_shown = (
            select(Message.seq)
            .where(Message.group_id == Group.group_id, NOT_A_CHANGE)
            .order_by(Message.seq.desc())
            .limit(1)
            .correlate(Group)
            .scalar_subquery()
        )
        latest = (
            select(Group.group_id.label("group_id"), last_shown.label("seq"))
            .where(Group.group_id.in_(group_ids))
            .subquery()
        )
        rows = await self.session.execute(
            select(Message).join(
                latest, and_(Message.group_id == latest.c.group_id, Message.seq == latest.c.seq)
            )
        )
        return {message.group_id: message for message in rows.scalars()}

    async def count_unread(self, user_id: str) -> dict[str, int]:
        """Per group of `user_id`: messages after their read mark that others sent (EDIT and
        RECALL entries change a message and are never unread)."""
        rows = await self.session.execute(
            select(Message.group_id, func.count())
            .join(
                GroupMember,
                and_(
                    GroupMember.group_id == Message.group_id,
                    GroupMember.user_id == user_id,
                ),
            )
            .where(
                Message.seq > GroupMember.last_read_seq,
                Message.from_user_id != user_id,
                NOT_A_CHANGE,
            )
            .group_by(Message.group_id)
        )
        return {group_id: int(count) for group_id, count in rows}
