"""Edits and recalls (SPEC §11) as appends to the group's log: the EDIT or RECALL entry gets the
next seq, and the target's current state, with its previous content kept in `message_revisions`,
changes in the same transaction.

Rules: the sender edits a TEXT, IMAGE or FILE message within the edit window; the sender recalls
one within the recall window, and any DOCTOR member of the group at any time. A recall empties
the target's content and that of the EDIT entries targeting it (every read then serves current
state as it is stored). Each change runs in a transaction of its own that locks the group row,
so that two changes of one message, from any instances, apply one after the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.errors import AppError, Conflict, InvalidInput, NotFound, PermissionDenied
from app.models import GroupMember, Message, MessageType, User, UserRole
from app.models.enums import CHANGEABLE_TYPES
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.repositories.message_repository import MessageRepository
from app.repositories.message_revision_repository import MessageRevisionRepository
from app.services.core.message_writer import Append, BatchFacts, Draft, Key


def message_not_found(message_id: str) -> AppError:
    """The answer for an unknown message and for one of a group the reader is not in alike."""
    return NotFound(f"Message {message_id} not found", code="MESSAGE_NOT_FOUND")


@dataclass(frozen=True)
class ChangeWindows:
    """How long a sender may change a message after sending it."""

    edit: timedelta
    recall: timedelta


class MessageChange(Append):
    """An EDIT or RECALL of `target_id` by `actor`; `target` holds the changed message once the
    append has committed."""

    exclusive = True
    msg_type: MessageType

    def __init__(
        self,
        actor: User,
        group_id: str,
        target_id: str,
        windows: ChangeWindows,
        client_msg_id: str | None,
    ) -> None:
        self.actor = actor
        self.group_id = group_id
        self.target_id = target_id
        self.windows = windows
        self.client_msg_id = client_msg_id
        self.target: Message | None = None

    def idempotency_key(self) -> Key | None:
        if self.client_msg_id is None:
            return None
        return (self.actor.user_id, self.client_msg_id)

    def content(self) -> str:
        """The entry's `msg_content`."""
        return ""

    def check(self, member: GroupMember, target: Message) -> None:
        """Raise if `member` may not make this change to `target`."""

    async def apply(self, session: AsyncSession, target: Message, entry: Message) -> None:
        """Change the target's stored state."""

    async def draft(self, session: AsyncSession, facts: BatchFacts) -> Draft:
        await GroupRepository(session).lock(self.group_id)
        member = await GroupMemberRepository(session).get_member(self.group_id, self.actor.user_id)
        target = await MessageRepository(session).get_by_id(self.target_id)
        if member is None or target is None or target.group_id != self.group_id:
            raise message_not_found(self.target_id)
        if target.msg_type not in CHANGEABLE_TYPES:
            raise InvalidInput(
                f"A {target.msg_type} message cannot be edited or recalled",
                code="MESSAGE_NOT_CHANGEABLE",
            )
        self.check(member, target)
        self.target = target
        return Draft(
            self.actor.user_id,
            member.user_role,
            self.msg_type,
            self.content(),
            self.client_msg_id,
            target_message_id=target.message_id,
        )

    async def after_insert(self, session: AsyncSession, message: Message) -> None:
        target = self.changed
        MessageRevisionRepository(session).stage(target, change=message)
        await self.apply(session, target, message)
        await session.flush()

    @property
    def changed(self) -> Message:
        """The target (in its new state, once the append has committed)."""
        if self.target is None:
            raise RuntimeError("the change has not been applied")
        return self.target


def _closed(action: str, window: timedelta) -> AppError:
    minutes = int(window.total_seconds() // 60)
    return PermissionDenied(
        f"Messages can be {action} only within {minutes} minutes of sending",
        code="EDIT_WINDOW_CLOSED",
    )


def _recalled(target: Message) -> AppError:
    return Conflict(f"Message {target.message_id} was recalled", code="MESSAGE_RECALLED")


def _age(target: Message) -> timedelta:
    return utcnow() - target.created_at


class MessageEdit(MessageChange):
    msg_type = MessageType.EDIT

    def __init__(
        self,
        actor: User,
        group_id: str,
        target_id: str,
        windows: ChangeWindows,
        client_msg_id: str | None,
        new_content: str,
    ) -> None:
        super().__init__(actor, group_id, target_id, windows, client_msg_id)
        self.new_content = new_content

    def content(self) -> str:
        return self.new_content

    def check(self, member: GroupMember, target: Message) -> None:
        if target.from_user_id != member.user_id:
            raise PermissionDenied("Only the sender may edit a message", code="NOT_THE_SENDER")
        if target.recalled_at is not None:
            raise _recalled(target)
        if _age(target) > self.windows.edit:
            raise _closed("edited", self.windows.edit)

    async def apply(self, session: AsyncSession, target: Message, entry: Message) -> None:
        target.msg_content = entry.msg_content
        target.edited_at = entry.created_at


class MessageRecall(MessageChange):
    msg_type = MessageType.RECALL

    def check(self, member: GroupMember, target: Message) -> None:
        doctor = member.user_role == UserRole.DOCTOR
        if target.from_user_id != member.user_id and not doctor:
            raise PermissionDenied(
                "Only the sender or a doctor of the group may recall a message",
                code="NOT_THE_SENDER",
            )
        if target.recalled_at is not None:
            raise _recalled(target)
        if not doctor and _age(target) > self.windows.recall:
            raise _closed("recalled", self.windows.recall)

    async def apply(self, session: AsyncSession, target: Message, entry: Message) -> None:
        target.msg_content = ""
        target.attachment = None  # SPEC §12: a recalled message's attachment is not served
        target.recalled_at = entry.created_at
        await MessageRepository(session).empty_edits_of(target)
