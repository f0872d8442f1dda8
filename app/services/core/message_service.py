"""Sending and reading messages: membership, the per-group seq, idempotency, read marks.

Every store happens in a write transaction that locks the group row for the seq (user sends go
through the group-commit writer in message_writer.py); events and message hooks' after-commit
work run only once the commit has succeeded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.session import Database
from app.errors import InvalidInput, NotFound, RateLimited
from app.metrics import MESSAGES_SENT
from app.models import Message, MessageType, User
from app.repositories import message_reads
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.repositories.message_repository import MessageRepository
from app.schemas.message import MessageCreate
from app.services.core.events import EventSink, message_event, read_event
from app.services.core.message_writer import AfterCommit, MessageWriter, SendResult
from app.services.core.permissions import require_group, require_member
from app.services.core.rate_limit import RateLimiter
from app.utils.id_generator import generate_message_id

logger = logging.getLogger(__name__)

SYNC_PAGE_LIMIT = 200


class MessageHook(Protocol):
    async def on_stored(
        self, session: AsyncSession, message: Message, *, ai_enabled: bool
    ) -> AfterCommit | None:
        """Runs inside the send transaction; may write rows and return after-commit work."""


MessageRow = dict[str, Any]
"""A message as read for clients: the fields of `MessageResponse`, JSON-ready."""


@dataclass(frozen=True)
class MessagePage:
    messages: list[MessageRow]
    has_more: bool


class MessageService:
    def __init__(self, db: Database, events: EventSink, rate_limiter: RateLimiter) -> None:
        self.db = db
        self.events = events
        self.rate_limiter = rate_limiter
        self.hooks: list[MessageHook] = []
        self.writer = MessageWriter(db, self._run_hooks, self.publish_stored)

    def add_hook(self, hook: MessageHook) -> None:
        """Plug in a layer (the AI) that reacts to every stored message."""
        self.hooks.append(hook)

    async def send_message(
        self, sender: User, body: MessageCreate, *, connection_id: str | None = None
    ) -> SendResult:
        """Store a member's message and publish it; idempotent on `client_msg_id`.

        Raises NotFound (group), PermissionDenied (non-member), RateLimited. After commit: a
        `message` event to the group (the sending connection excluded) and hook work. A replay
        returns the original with `created=False` and publishes nothing.
        """
        try:
            async with self.rate_limiter.attempt(sender.user_id) as attempt:
                result = await self.writer.submit(sender, body, connection_id)
                if result.created:
                    attempt.count()
        except RateLimited:
            # A replay is not a new send: a client retrying a stored message learns it was
            # stored even at the limit, instead of showing a delivered message as failed.
            original = await self._find_replay(sender, body)
            if original is None:
                raise
            return SendResult(original, created=False)
        return result

    async def _run_hooks(
        self, session: AsyncSession, message: Message, ai_enabled: bool
    ) -> AfterCommit | None:
        work = [
            await hook.on_stored(session, message, ai_enabled=ai_enabled) for hook in self.hooks
        ]
        pending = [item for item in work if item is not None]
        if not pending:
            return None

        async def run_all() -> None:
            for item in pending:
                await item()

        return run_all

    async def _find_replay(self, sender: User, body: MessageCreate) -> Message | None:
        """The message `sender` already stored under `body.client_msg_id`, if any."""
        if body.client_msg_id is None:
            return None
        async with self.db.read() as session:
            return await MessageRepository(session).get_by_client_msg_id(
                sender.user_id, body.client_msg_id
            )

    async def append_in_transaction(
        self,
        session: AsyncSession,
        *,
        group_id: str,
        sender_id: str,
        sender_role: str,
        content: str,
        msg_type: str = MessageType.TEXT,
        client_msg_id: str | None = None,
    ) -> SendResult:
        """Take the group's next seq and insert; the caller commits, then `publish_stored`."""
        bumped = await GroupRepository(session).next_seq(group_id)
        if bumped is None:
            raise NotFound(f"Group {group_id} not found", code="GROUP_NOT_FOUND")
        seq, ai_enabled = bumped
        message = await MessageRepository(session).create(
            generate_message_id(),
            group_id,
            sender_id,
            msg_type,
            content,
            seq=seq,
            from_user_role=sender_role,
            client_msg_id=client_msg_id,
        )
        work = [
            await hook.on_stored(session, message, ai_enabled=ai_enabled) for hook in self.hooks
        ]
        return SendResult(message, True, tuple(item for item in work if item is not None))

    async def publish_stored(
        self, result: SendResult, *, exclude_connection_id: str | None = None
    ) -> None:
        """After commit: push the message to the group and start the hooks' work."""
        message = result.message
        MESSAGES_SENT.labels(message.msg_type).inc()
        logger.info(
            "message %s stored in %s seq=%d", message.message_id, message.group_id, message.seq
        )
        self.events.send_message_to_group(
            message.group_id, message_event(message), exclude_connection_id=exclude_connection_id
        )
        for work in result.after_commit:
            await work()

    async def post_message(
        self, *, group_id: str, sender_id: str, sender_role: str, content: str
    ) -> Message:
        """Store and publish a message on behalf of a trusted sender (the AI assistant)."""
        async with self.db.write() as session, session.begin():
            result = await self.append_in_transaction(
                session,
                group_id=group_id,
                sender_id=sender_id,
                sender_role=sender_role,
                content=content,
            )
        await self.publish_stored(result)
        return result.message

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
            self.events.send_message_to_group(
                group_id,
                read_event(group_id, reader.user_id, seq),
                exclude_connection_id=connection_id,
            )
        return mark
