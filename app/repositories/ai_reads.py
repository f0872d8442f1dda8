"""The AI's reads of every reply: the question, its sender's name and whether the assistant is
still a member, in one statement; the conversation before it in a second. Core statements built
once with bound parameters, on the bare read connection: every AI reply runs them on the event
loop the sends share, and building an ORM statement cost more than running it."""

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Select, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.models import GroupMember, Message, MessageType, User, UserRole


@dataclass(frozen=True)
class Question:
    """The message an AI reply answers, in its current state."""

    message_id: str
    group_id: str
    seq: int
    sender_role: str
    sender_name: str
    msg_type: str
    content: str
    attachment: dict[str, Any] | None
    recalled: bool
    assistant_is_member: bool


@cache
def _question_query() -> Select[Any]:
    assistant_is_member = exists().where(
        GroupMember.group_id == Message.group_id, GroupMember.user_id == bindparam("assistant")
    )
    return (
        select(
            Message.group_id,
            Message.seq,
            Message.from_user_role,
            User.username,
            Message.msg_type,
            Message.msg_content,
            Message.attachment,
            Message.recalled_at.is_not(None),
            assistant_is_member,
        )
        .join(User, User.user_id == Message.from_user_id)
        .where(Message.message_id == bindparam("message"))
    )


@cache
def _recalled_query() -> Select[Any]:
    return select(Message.recalled_at.is_not(None)).where(
        Message.message_id == bindparam("message")
    )


@cache
def _history_query() -> Select[str, str, str]:
    return (
        select(Message.from_user_role, User.username, Message.msg_content)
        .join(User, User.user_id == Message.from_user_id)
        .where(
            Message.group_id == bindparam("group"),
            Message.seq < bindparam("seq", type_=BigInteger),
            Message.msg_type == MessageType.TEXT,
            Message.recalled_at.is_(None),
        )
        .order_by(Message.seq.desc())
        .limit(bindparam("limit", type_=BigInteger))
    )


async def question(conn: AsyncConnection, message_id: str, assistant_id: str) -> Question | None:
    """The message, or None when it is gone (it went with its group)."""
    result = await conn.execute(
        _question_query(), {"message": message_id, "assistant": assistant_id}
    )
    row = result.first()
    if row is None:
        return None
    group_id, seq, role, name, msg_type, content, attachment, recalled, member = row
    return Question(
        message_id,
        group_id,
        int(seq),
        str(role),
        name,
        str(msg_type),
        content,
        attachment,
        bool(recalled),
        bool(member),
    )


async def is_recalled(session: AsyncSession, message_id: str) -> bool | None:
    """Whether the message was recalled; None when there is no such message."""
    recalled = await session.scalar(_recalled_query(), {"message": message_id})
    return None if recalled is None else bool(recalled)


async def history(
    reader: AsyncConnection | AsyncSession, group_id: str, before_seq: int, limit: int
) -> list[tuple[UserRole, str, str]]:
    """(sender's role, sender's name, content) of the last `limit` TEXT messages before
    `before_seq` that were not recalled, in their current state, oldest first."""
    if limit <= 0:
        return []
    rows = await reader.execute(
        _history_query(), {"group": group_id, "seq": before_seq, "limit": limit}
    )
    return [(UserRole(role), name, content) for role, name, content in reversed(rows.all())]
