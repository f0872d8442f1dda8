"""The message read path (history pages, sync): Core queries on a bare connection.

Reading is the busiest thing clients do, so it skips the ORM session and unit of work and
returns plain rows with the fields of `MessageResponse`, serialised once by the caller.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    CompoundSelect,
    Integer,
    Label,
    and_,
    cast,
    exists,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import QueryableAttribute

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
    Message.reply_to,
    Message.mentions,
    Message.target_message_id,
    Message.attachment,
    Message.edited_at,
    Message.recalled_at,
)
PAYLOAD_KEYS = tuple(column.key for column in PAYLOAD_COLUMNS)


def _payload(values: Sequence[Any]) -> dict[str, Any]:
    """A row as `MessageResponse` fields. Stored rows hold current state (a recall empties the
    content and the attachment where they are stored), so nothing is computed here but the
    defaults. The attachment is metadata only: links are added per response (`Hooks.present`)."""
    message = dict(zip(PAYLOAD_KEYS, values, strict=True))
    if message["mentions"] is None:
        message["mentions"] = []
    return message


def _typed_null(column: QueryableAttribute[Any]) -> Label[Any]:
    """A NULL of the column's type. JSON is typed on our side only (the result still decodes
    as JSON): MariaDB has no CAST(… AS JSON), and PostgreSQL takes the type from the page's
    branch when this one is an untyped NULL."""
    if isinstance(column.type, JSON):
        return type_coerce(null(), column.type).label(column.key)
    return cast(null(), column.type).label(column.key)


async def member_page(
    conn: AsyncConnection,
    group_id: str,
    user_id: str,
    *,
    limit: int,
    after_seq: int | None = None,
    before_seq: int | None = None,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]] | None:
    """(the group's last seq, up to `limit` messages), or None if `user_id` is not a member.

    Messages come oldest first after `after_seq`, otherwise newest first (before `before_seq`
    when given). One round trip: a UNION ALL of the access row (membership and last seq) and
    the page, which reads only if the membership exists.
    """
    # Typed NULLs: PostgreSQL matches the branches' types, and the union's result types (UTC
    # datetimes on SQLite) come from its first branch.
    placeholders = (_typed_null(column) for column in PAYLOAD_COLUMNS)
    access = select(Group.last_seq, *placeholders).join(
        GroupMember,
        and_(GroupMember.group_id == Group.group_id, GroupMember.user_id == user_id),
    )
    page = select(cast(null(), Integer).label("last_seq"), *PAYLOAD_COLUMNS).where(
        Message.group_id == group_id,
        exists().where(GroupMember.group_id == group_id, GroupMember.user_id == user_id),
    )
    if after_seq is not None:
        page = page.where(Message.seq > after_seq).order_by(Message.seq.asc())
    else:
        if before_seq is not None:
            page = page.where(Message.seq < before_seq)
        page = page.order_by(Message.seq.desc())
    page_rows = select(page.offset(offset).limit(limit).subquery())
    query: CompoundSelect[Any] = union_all(access.where(Group.group_id == group_id), page_rows)
    rows = (await conn.execute(query)).all()
    last_seq = next((row[0] for row in rows if row[1] is None), None)
    if last_seq is None:
        return None
    messages = [_payload(row[1:]) for row in rows if row[1] is not None]
    # Row order across UNION ALL branches is not promised by SQL: restore the page's order.
    messages.sort(key=lambda message: message["seq"], reverse=after_seq is None)
    return int(last_seq), messages
