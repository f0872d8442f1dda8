"""Sending, changing and reading messages: membership, replies and mentions, idempotency, the
rate limit, pages, revisions and read marks.

A send, an edit and a recall are appends through the writer (message_writer.py; the change
kinds in message_changes.py), which stores each with the group's next seq and pushes it after
the commit. Reads go through the bare-connection read path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from app.db.session import Database
from app.errors import InvalidInput, PermissionDenied, RateLimited
from app.models import Message, MessageRevision, User
from app.realtime.fanout import Fanout
from app.repositories import message_reads
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.repositories.message_repository import MessageRepository
from app.repositories.message_revision_repository import MessageRevisionRepository
from app.schemas.message import MessageCreate, MessageResponse
from app.services.core.actor import Actor
from app.services.core.events import message_payload, read_event
from app.services.core.history_cache import HistoryCache
from app.services.core.message_changes import (
    ChangeWindows,
    MessageChange,
    MessageEdit,
    MessageRecall,
    message_not_found,
)
from app.services.core.message_send import UserSend
from app.services.core.message_writer import Append, Appended, MessageWriter
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


@dataclass(frozen=True)
class Changed:
    """An edit or a recall: its EDIT or RECALL entry and the target in its new state."""

    entry: Message
    """The entry (for a replay of its `client_msg_id`, the one stored first)."""
    target: Message


class MessageService:
    def __init__(
        self,
        db: Database,
        writer: MessageWriter,
        fanout: Fanout,
        rate_limiter: RateLimiter,
        windows: ChangeWindows,
        history: HistoryCache,
    ) -> None:
        self.db = db
        self.history = history
        self.writer = writer
        self.fanout = fanout
        self.rate_limiter = rate_limiter
        self.windows = windows

    def payload(self, message: Message) -> MessageRow:
        """A stored message as clients get it (attachment links signed now)."""
        return message_payload(message, self.writer.hooks.present)

    def response(self, message: Message) -> MessageResponse:
        """`MessageResponse` of a stored message; only one with an attachment pays for the
        links (a plain send is validated once, as before attachments existed)."""
        if message.attachment is None:
            return MessageResponse.model_validate(message)
        return MessageResponse.model_validate(self.payload(message))

    def _presented(self, rows: list[MessageRow]) -> list[MessageRow]:
        """Read rows as clients get them: links are added to copies, after the read, so rows
        that may be kept for later reads never hold a signed (expiring) URL."""
        present = self.writer.hooks.present
        return [present(row) for row in rows]

    async def send_message(
        self, sender: User, body: MessageCreate, *, connection_id: str | None = None
    ) -> Appended:
        """Store a member's message; idempotent on `client_msg_id`.

        Raises NotFound (group), PermissionDenied (non-member), InvalidInput (reply, mentions),
        RateLimited. After commit: a `message` event to the group (the sending connection
        excluded) and the hooks' work. A replay returns the original with `created=False` and
        publishes nothing.
        """
        return await self._append_counted(
            sender, UserSend(sender, body), body.client_msg_id, connection_id
        )

    async def edit_message(
        self,
        editor: User,
        message_id: str,
        content: str,
        *,
        client_msg_id: str | None = None,
        connection_id: str | None = None,
    ) -> Changed:
        """Append an EDIT entry and give the target its new content (the sender, within the
        edit window). Raises NotFound (unknown, or not the editor's group), InvalidInput (not a
        TEXT/IMAGE/FILE message), PermissionDenied (NOT_THE_SENDER, EDIT_WINDOW_CLOSED),
        Conflict (MESSAGE_RECALLED), RateLimited. After commit: the entry as a `message` event."""
        group_id = await self._group_of(message_id)
        edit = MessageEdit(editor, group_id, message_id, self.windows, client_msg_id, content)
        return await self._change(editor, edit, connection_id)

    async def recall_message(
        self,
        actor: User,
        message_id: str,
        *,
        client_msg_id: str | None = None,
        connection_id: str | None = None,
    ) -> Changed:
        """Append a RECALL entry and empty the target (the sender within the recall window, or
        a DOCTOR member at any time). Raises as `edit_message`. After commit: the entry as a
        `message` event."""
        group_id = await self._group_of(message_id)
        recall = MessageRecall(actor, group_id, message_id, self.windows, client_msg_id)
        return await self._change(actor, recall, connection_id)

    async def _group_of(self, message_id: str) -> str:
        async with self.db.read() as session:
            placement = await MessageRepository(session).get_placement(message_id)
        if placement is None:
            raise message_not_found(message_id)
        return placement[0]

    async def _change(
        self, actor: User, change: MessageChange, connection_id: str | None
    ) -> Changed:
        result = await self._append_counted(actor, change, change.client_msg_id, connection_id)
        if result.created:
            return Changed(result.message, change.changed)
        return Changed(result.message, await self.get_message(actor, change.target_id))

    async def _append_counted(
        self, user: User, item: Append, client_msg_id: str | None, connection_id: str | None
    ) -> Appended:
        """Append under the user's rate limit; only new entries count."""
        try:
            async with self.rate_limiter.attempt(user.user_id) as attempt:
                result = await self.writer.append(item, exclude_connection_id=connection_id)
                if result.created:
                    attempt.count()
        except RateLimited:
            # A replay is not a new send: a client retrying a stored message learns it was
            # stored even at the limit, instead of showing a delivered message as failed.
            original = await self._find_replay(user, client_msg_id)
            if original is None:
                raise
            return Appended(original, created=False)
        return result

    async def _find_replay(self, user: User, client_msg_id: str | None) -> Message | None:
        """The message `user` already stored under `client_msg_id`, if any."""
        if client_msg_id is None:
            return None
        async with self.db.read() as session:
            return await MessageRepository(session).get_by_client_msg_id(
                user.user_id, client_msg_id
            )

    async def get_message(self, reader: User, message_id: str) -> Message:
        """A message of one of the reader's groups, in its current state; NotFound otherwise
        (the same answer for an unknown message and for another group's: no existence leak)."""
        async with self.db.read() as session:
            message = await MessageRepository(session).get_by_id(message_id)
            if message is None:
                raise message_not_found(message_id)
            members = GroupMemberRepository(session)
            if await members.get_member(message.group_id, reader.user_id) is None:
                raise message_not_found(message_id)
            return message

    async def get_revisions(
        self, actor: Actor, message_id: str
    ) -> tuple[Message, list[MessageRevision]]:
        """A message as it is now and its earlier contents, oldest first: the record behind
        edits and recalls, for the service key only (PermissionDenied otherwise)."""
        if not actor.is_service:
            raise PermissionDenied(
                "Revisions are readable with the service key only", code="SERVICE_KEY_REQUIRED"
            )
        async with self.db.read() as session:
            message = await MessageRepository(session).get_by_id(message_id)
            if message is None:
                raise message_not_found(message_id)
            return message, await MessageRevisionRepository(session).list_for(message_id)

    async def get_messages(
        self, reader: User, group_id: str, page: int, page_size: int
    ) -> tuple[list[MessageRow], int]:
        """One page of the group's history, newest first, and the total count (the group's
        last seq: seqs are dense and messages are never deleted)."""
        total, rows = await self._read_page(
            reader, group_id, limit=page_size, offset=(page - 1) * page_size
        )
        return self._presented(rows), total

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
        return MessagePage(self._presented(rows[:limit]), has_more=len(rows) > limit)

    async def _read_page(
        self,
        reader: User,
        group_id: str,
        *,
        limit: int,
        after_seq: int | None = None,
        before_seq: int | None = None,
        offset: int = 0,
    ) -> tuple[int, list[MessageRow]]:
        """(last seq, rows) for a member; NotFound (group) or PermissionDenied otherwise.

        The rows may be shared with other readers through the history cache: never modify
        them."""
        key = (group_id, after_seq, before_seq, offset, limit)
        cached = self.history.get(key)
        async with self.db.reader() as conn:
            member = True
            if cached is not None:
                last_seq = await message_reads.member_last_seq(conn, group_id, reader.user_id)
                if last_seq == cached.last_seq:
                    return cached.last_seq, cached.rows
                member = last_seq is not None
            found = None
            if member:
                found = await message_reads.member_page(
                    conn,
                    group_id,
                    reader.user_id,
                    limit=limit,
                    after_seq=after_seq,
                    before_seq=before_seq,
                    offset=offset,
                )
        if found is not None:
            self.history.put(key, *found)
            return found
        async with self.db.read() as session:  # no row: decide which error, or an empty page
            groups = GroupRepository(session)
            await require_member(groups, GroupMemberRepository(session), group_id, reader.user_id)
            return (await require_group(groups, group_id)).last_seq, []

    async def is_member(self, user_id: str, group_id: str) -> bool:
        async with self.db.read() as session:
            member = await GroupMemberRepository(session).get_member(group_id, user_id)
        return member is not None

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
