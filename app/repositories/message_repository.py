"""Queries on `messages`: insert, idempotency look-ups, last messages, unread counts, AI history.

History pages and sync read through message_reads.py."""

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import GroupMember, Message, MessageType, User


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_id(self, message_id: str) -> Message | None:
        result = await self.session.execute(select(Message).where(Message.message_id == message_id))
        return result.scalar_one_or_none()

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

    async def get_last_messages(self, group_seqs: Sequence[tuple[str, int]]) -> dict[str, Message]:
        """The message at each (group_id, last_seq), keyed by group."""
        wanted = [(group_id, seq) for group_id, seq in group_seqs if seq > 0]
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(Message).where(tuple_(Message.group_id, Message.seq).in_(wanted))
        )
        return {message.group_id: message for message in rows.scalars()}

    async def count_unread(self, user_id: str) -> dict[str, int]:
        """Per group of `user_id`: messages after their read mark that others sent."""
        rows = await self.session.execute(
            select(Message.group_id, func.count())
            .join(
                GroupMember,
                and_(
                    GroupMember.group_id == Message.group_id,
                    GroupMember.user_id == user_id,
                ),
            )
            .where(Message.seq > GroupMember.last_read_seq, Message.from_user_id != user_id)
            .group_by(Message.group_id)
        )
        return {group_id: int(count) for group_id, count in rows}

    async def get_history(
        self, group_id: str, before_seq: int, limit: int
    ) -> list[tuple[Message, str]]:
        """The last `limit` TEXT messages before `before_seq` with their senders' names,
        oldest first."""
        if limit <= 0:
            return []
        rows = await self.session.execute(
            select(Message, User.username)
            .join(User, User.user_id == Message.from_user_id)
            .where(
                Message.group_id == group_id,
                Message.seq < before_seq,
                Message.msg_type == MessageType.TEXT,
            )
            .order_by(Message.seq.desc())
            .limit(limit)
        )
        return [(message, username) for message, username in reversed(rows.all())]
