"""The notification layer's hook: what the core stores becomes outbox rows and push notices.

It runs inside the transaction that stored the change (app/services/core/hooks.py), so a
webhook row commits with the change or not at all, and `offline_member_ids` is read at commit
time: the group's members with no open connection on any instance (the presence store), the AI
assistant left out (it never connects). After the commit it wakes the local deliverer and
hands the push notice to the pusher; a send never waits for either.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.models import GroupMember, MessageType, PushMark, UserRole
from app.notifications.events import (
    WebhookEvent,
    ai_failed_event,
    ai_toggled_event,
    message_event,
)
from app.notifications.outbox import WebhookOutbox
from app.notifications.push import PushNotice
from app.notifications.upsert import upsert
from app.services.core.hooks import AfterCommit, GroupChange, StoredMessage

Online = Callable[[Iterable[str]], Awaitable[set[str]]]
PUSHED_TYPES = (MessageType.TEXT, MessageType.IMAGE, MessageType.FILE)
"""What a person is told about (SYSTEM lines, edits and recalls are not)."""
NEEDS_PRESENCE = (*PUSHED_TYPES, MessageType.SYSTEM, MessageType.RECALL)


@dataclass(frozen=True)
class Member:
    user_id: str
    user_role: str
    last_read_seq: int


class NotificationHook:
    def __init__(
        self,
        *,
        webhook_max_age: timedelta | None,
        online: Online | None,
        wake: Callable[[], None] | None = None,
        push: Callable[[PushNotice], None] | None = None,
    ) -> None:
        """`webhook_max_age` None: webhooks off; `push` None: Web Push off; `online` None:
        a process without presence (a Celery worker, which only reports `ai.failed`)."""
        self.webhook_max_age = webhook_max_age
        self.online = online
        self.wake = wake
        self.push = push

    async def on_message_stored(
        self, session: AsyncSession, stored: StoredMessage
    ) -> AfterCommit | None:
        message = stored.message
        offline: list[Member] = []
        if self.online is not None and (
            stored.membership is None and message.msg_type in NEEDS_PRESENCE
        ):
            offline = await _offline_members(session, message.group_id, self.online)
        event = message_event(stored, [member.user_id for member in offline])
        staged = self._stage(session, event)
        notice = await self._push_notice(session, stored, offline)
        return self._after_commit(staged=staged, notice=notice)

    async def on_group_updated(
        self, session: AsyncSession, change: GroupChange
    ) -> AfterCommit | None:
        staged = self._stage(session, ai_toggled_event(change))
        return self._after_commit(staged=staged, notice=None)

    async def on_ai_failed(
        self, session: AsyncSession, group_id: str, record_id: str, error_message: str
    ) -> None:
        """Inside the transaction that marks an AI record FAILED (the AI layer calls it)."""
        self._stage(session, ai_failed_event(group_id, record_id, error_message))

    def _stage(self, session: AsyncSession, event: WebhookEvent | None) -> bool:
        if event is None or self.webhook_max_age is None:
            return False
        WebhookOutbox(session).stage(event, max_age=self.webhook_max_age)
        return True

    def _after_commit(self, *, staged: bool, notice: PushNotice | None) -> AfterCommit | None:
        wake = self.wake if staged else None
        push = self.push if notice is not None else None
        if wake is None and push is None:
            return None

        async def after_commit() -> None:
            if wake is not None:
                wake()
            if push is not None and notice is not None:
                push(notice)

        return after_commit

    async def _push_notice(
        self, session: AsyncSession, stored: StoredMessage, offline: list[Member]
    ) -> PushNotice | None:
        """Who gets a push: offline members other than the sender who were not pushed for
        this group since they last read (coalesced: one push per group until they read up to
        it), and mentioned offline members always. Their marks move to this message."""
        message = stored.message
        if self.push is None or message.msg_type not in PUSHED_TYPES:
            return None
        others = [member for member in offline if member.user_id != message.from_user_id]
        if not others:
            return None
        marks = await _push_marks(session, message.group_id, [m.user_id for m in others])
        mentioned = set(stored.mentions)
        recipients: dict[str, bool] = {}
        for member in others:
            if member.user_id in mentioned:
                recipients[member.user_id] = True
            elif marks.get(member.user_id, 0) <= member.last_read_seq:
                recipients[member.user_id] = False
        now = utcnow()
        for user_id in recipients:
            values = {
                "user_id": user_id,
                "group_id": message.group_id,
                "pushed_seq": message.seq,
                "created_at": now,
                "updated_at": now,
            }
            await upsert(
                session,
                PushMark,
                values,
                key=["user_id", "group_id"],
                update=["pushed_seq", "updated_at"],
            )
        if not recipients:
            return None
        return PushNotice(message.group_id, message.seq, message.from_user_id, recipients)


async def _offline_members(session: AsyncSession, group_id: str, online: Online) -> list[Member]:
    rows = await session.execute(
        select(GroupMember.user_id, GroupMember.user_role, GroupMember.last_read_seq)
        .where(GroupMember.group_id == group_id)
        .order_by(GroupMember.id)
    )
    members = [
        Member(r.user_id, r.user_role, r.last_read_seq)
        for r in rows
        if r.user_role != UserRole.AI_ASSISTANT
    ]
    connected = await online([member.user_id for member in members])
    return [member for member in members if member.user_id not in connected]


async def _push_marks(session: AsyncSession, group_id: str, user_ids: list[str]) -> dict[str, int]:
    rows = await session.execute(
        select(PushMark.user_id, PushMark.pushed_seq).where(
            PushMark.group_id == group_id, PushMark.user_id.in_(user_ids)
        )
    )
    return {row.user_id: row.pushed_seq for row in rows}
