"""What a copilot task reads: the message its record is anchored to when staged, and the
conversation up to that message as the AI is given it (edits applied, recalled messages left
out, SYSTEM messages and attachments too, as for replies)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Message, MessageType, UserRole
from app.repositories import ai_reads
from app.repositories.message_repository import MessageRepository
from app.services.ai.providers import Turn
from app.services.ai.turns import as_turn


async def last_text_message(
    session: AsyncSession, group_id: str, *, from_role: UserRole | None = None
) -> Message | None:
    """The group's latest TEXT message that was not recalled (from a sender of `from_role`)."""
    query = select(Message).where(
        Message.group_id == group_id,
        Message.msg_type == MessageType.TEXT,
        Message.recalled_at.is_(None),
    )
    if from_role is not None:
        query = query.where(Message.from_user_role == from_role)
    result = await session.execute(query.order_by(Message.seq.desc()).limit(1))
    return result.scalar_one_or_none()


@dataclass(frozen=True)
class Conversation:
    group_id: str
    turns: list[Turn]
    patient_spoke: bool
    """A patient's message is among the turns (a suggestion answers one)."""


async def conversation_until(
    session: AsyncSession, anchor_message_id: str, limit: int
) -> Conversation | None:
    """The last `limit` text messages up to the anchor (included), oldest first, as they read
    now; None when the anchor went with its group."""
    messages = MessageRepository(session)
    anchor = await messages.get_by_id(anchor_message_id)
    if anchor is None:
        return None
    rows = await ai_reads.history(session, anchor.group_id, anchor.seq + 1, limit)
    return Conversation(
        anchor.group_id,
        [as_turn(role, name, content) for role, name, content in rows],
        patient_spoke=any(role == UserRole.PATIENT for role, _, _ in rows),
    )
