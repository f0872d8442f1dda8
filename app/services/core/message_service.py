"""Sending and reading messages: membership, idempotency, the rate limit, pages and read marks.

A send is an append through the writer (message_writer.py), which stores it with the group's
next seq and pushes it after the commit. Reads go through the bare-connection read path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.session import Database
from app.errors import AppError, InvalidInput, NotFound, PermissionDenied, RateLimited
from app.models import Message, MessageType, User
from app.realtime.fanout import Fanout
from app.repositories import message_reads
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.repositories.message_repository import MessageRepository
from app.schemas.message import MessageCreate
from app.services.core.events import read_event
from app.services.core.message_writer import Append, Appended, BatchFacts, Draft, Key, MessageWriter
from app.services.core.permissions import require_group, require_member
from app.services.core.rate_limit import RateLimiter

logger = logging.getLogger(__name__)

SYNC_PAGE_LIMIT = 200

MessageRow = dict[str, Any]
"""A message as read for clients: the fields of `MessageResponse`, JSON-ready."""


@dataclass(frozen=True)
class MessagePage:
    messages: list[MessageRow]
    has_more: bool


async def not_a_member(session: AsyncSession, group_id: str) -> AppError:
    """The refusal for someone who is not in `group_id`: 404 if it does not exist, else 403."""
    if await GroupRepository(session).exists(group_id):
        return PermissionDenied("You are not a member of this group", code="NOT_A_MEMBER")
    return NotFound(f"Group {group_id} not found", code="GROUP_NOT_FOUND")


class UserSend(Append):
    """A member's TEXT message; its role in the group is stored with it."""

    def __init__(self, sender: User, body: MessageCreate) -> None:
        self.sender = sender
        self.body = body
        self.group_id = body.group_id

    def membership_key(self) -> Key:
        return (self.group_id, self.sender.user_id)

    def idempotency_key(self) -> Key | None:
        client_msg_id = self.body.client_msg_id
        return (self.sender.user_id, client_msg_id) if client_msg_id is not None else None

    async def draft(self, session: AsyncSession, facts: BatchFacts) -> Draft:
        role = facts.roles.get(self.membership_key())
        if role is None:
            raise await not_a_member(session, self.group_id)
        return Draft(
            self.sender.user_id, role, MessageType.TEXT, self.body.content, self.body.client_msg_id
        )


class MessageService:
    def __init__(
        self, db: Database, writer: MessageWriter, fanout: Fanout, rate_limiter: RateLimiter
    ) -> None:
        self.db = db
        self.writer = writer
        self.fanout = fanout
        self.rate_limiter = rate_limiter

    async def send_message(
        self, sender: User, body: MessageCreate, *, connection_id: str | None = None
    ) -> Appended:
        """Store a member's message; idempotent on `client_msg_id`.

        Raises NotFound (group), PermissionDenied (non-member), RateLimited. After commit: a
        `message` event to the group (the sending connection excluded) and the hooks' work. A
        replay returns the original with `created=False` and publishes nothing.
        """
        try:
            async with self.rate_limiter.attempt(sender.user_id) as attempt:
                result = await self.writer.append(
                    UserSend(sender, body), exclude_connection_id=connection_id
                )
                if result.created:
                    attempt.count()
        except RateLimited:
            # A replay is not a new send: a client retrying a stored message learns it was
            # stored even at the limit, instead of showing a delivered message as failed.
            original = await self._find_replay(sender, body)
            if original is None:
                raise
            return Appended(original, created=False)
        return result

    async def _find_replay(self, sender: User, body: MessageCreate) -> Message | None:
        """The message `sender` already stored under `body.client_msg_id`, if any."""
        if body.client_msg_id is None:
            return None
        async with self.db.read() as session:
            return await MessageRepository(session).get_by_client_msg_id(
                sender.user_id, body.client_msg_id
            )

    async def get_message(self, reader: User, message_id: str) -> Message:
        """A message of one of the reader's groups; NotFound otherwise (no existence leak)."""
        async with self.db.read() as session:
            message = await MessageRepository(session).get_by_id(message_id)
            if message is None:
                raise NotFound(f"Message {message_id} not found", code="MESSAGE_NOT_FOUND")
            await require_member(
                GroupRepository(session),
                GroupMemberRepository(session),
                message.group_id,
                reader.user_id,
            )
            return message

    async def get_messages(
        self, reader: User, group_id: str, page: int, page_size: int
    ) -> tuple[list[MessageRow], int]:
        """One page of the group's history, newest first, and the total count (the group's
        last seq: seqs are dense and messages are never deleted)."""
        total, rows = await self._read_page(
            reader, group_id, limit=page_size, offset=(page - 1) * page_size
        )
        return rows, total

    async def get_messages_page(
        self,
        reader: User,
        group_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int = SYNC_PAGE_LIMIT,
    ) -> MessagePage:
        """Cursor reads: seq > after_seq oldest first (sync, catch-up), or seq < before_seq
        newest first (scrolling back)."""
        _, rows = await self._read_page(
            reader, group_id, after_seq=after_seq, before_seq=before_seq, limit=limit + 1
        )
        return MessagePage(rows[:limit], has_more=len(rows) > limit)

    async def _read_page(
        self, reader: User, group_id: str, **page: Any
    ) -> tuple[int, list[MessageRow]]:
        """(last seq, rows) for a member; NotFound (group) or PermissionDenied otherwise."""
        async with self.db.reader() as conn:
            found = await message_reads.member_page(conn, group_id, reader.user_id, **page)
        if found is not None:
            return found
        async with self.db.read() as session:  # no row: decide which error, or an empty page
            groups = GroupRepository(session)
            await require_member(groups, GroupMemberRepository(session), group_id, reader.user_id)
            return (await require_group(groups, group_id)).last_seq, []

    async def mark_read(
        self, reader: User, group_id: str, seq: int, *, connection_id: str | None = None
    ) -> int:
        """Move the reader's read mark up to `seq`; returns the mark. After commit, when it
        moved: a `read` event to the group (the reading connection excluded)."""
        async with self.db.write() as session, session.begin():
            groups, members = GroupRepository(session), GroupMemberRepository(session)
            group = await require_group(groups, group_id)
            member = await require_member(groups, members, group_id, reader.user_id)
            if seq > group.last_seq:
                raise InvalidInput(
                    f"seq {seq} is beyond the group's last message ({group.last_seq})",
                    code="INVALID_SEQ",
                )
            moved = await members.raise_read_seq(group_id, reader.user_id, seq)
            mark = seq if moved else member.last_read_seq
        if moved:
            self.fanout.to_group(
                group_id,
                read_event(group_id, reader.user_id, seq),
                exclude_connection_id=connection_id,
            )
        return mark
