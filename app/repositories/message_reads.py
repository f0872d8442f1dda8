"""The message read path (history pages, sync): Core queries on a bare connection.

Reading is the busiest thing clients do, so it skips the ORM session and unit of work and
returns plain rows with the fields of `MessageResponse`, serialised once by the caller.
"""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import Group, GroupMember, Message

PAYLOAD_COLUMNS = (
    Message.message_id,
    Message.group_id,
    Message.seq,
    Message.from_user_id,
    Message.from_user_role,
    Message.msg_type,
    Message.msg_content,
    Message.client_msg_id,
    Message.created_at,
)
PAYLOAD_KEYS = tuple(column.key for column in PAYLOAD_COLUMNS)


async def readable_last_seq(conn: AsyncConnection, group_id: str, user_id: str) -> int | None:
    """The group's last seq if `user_id` is a member of it, else None."""
    result = await conn.execute(
        select(Group.last_seq)
        .join(GroupMember, GroupMember.group_id == Group.group_id)
        .where(GroupMember.group_id == group_id, GroupMember.user_id == user_id)
    )
    value = result.scalar_one_or_none()
    return None if value is None else int(value)


async def page_rows(
    conn: AsyncConnection,
    group_id: str,
    *,
    limit: int,
    after_seq: int | None = None,
    before_seq: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Up to `limit` messages: oldest first after `after_seq`, otherwise newest first
    (before `before_seq` when given)."""
    query = select(*PAYLOAD_COLUMNS).where(Message.group_id == group_id)
    if after_seq is not None:
        query = query.where(Message.seq > after_seq).order_by(Message.seq)
    else:
        if before_seq is not None:
            query = query.where(Message.seq < before_seq)
        query = query.order_by(Message.seq.desc())
    rows = await conn.execute(query.offset(offset).limit(limit))
    return [dict(zip(PAYLOAD_KEYS, row, strict=True)) for row in rows]
