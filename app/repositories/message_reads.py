"""The message read path (history pages, sync): Core queries on a bare connection.

Reading is the busiest thing clients do, so it skips the ORM session and unit of work and
returns plain rows with the fields of `MessageResponse`, serialised once by the caller.
"""

from collections.abc import Sequence
from enum import Enum
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CompoundSelect,
    Integer,
    Label,
    Select,
    and_,
    bindparam,
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


class PageShape(Enum):
    """Which way a page reads: after a seq oldest first (sync), before a seq newest first
    (scrolling back), or from the newest message (a numbered page)."""

    AFTER = "after"
    BEFORE = "before"
    NEWEST = "newest"


@cache
def _access_query() -> Select[int]:
    """The group's last seq, one row only when `user_id` is a member."""
    return (
        select(Group.last_seq)
        .join(
            GroupMember,
            and_(GroupMember.group_id == Group.group_id, GroupMember.user_id == bindparam("user")),
        )
        .where(Group.group_id == bindparam("group"))
    )


@cache
def _page_query(shape: PageShape) -> CompoundSelect[Any]:
    """The access row and the page in one UNION ALL, built once per shape: building a
    statement costs more than running it on a warm database."""
    # Typed NULLs: PostgreSQL matches the branches' types, and the union's result types (UTC
    # datetimes on SQLite) come from its first branch.
    placeholders = (_typed_null(column) for column in PAYLOAD_COLUMNS)
    access = _access_query().add_columns(*placeholders)
    page = select(cast(null(), Integer).label("last_seq"), *PAYLOAD_COLUMNS).where(
        Message.group_id == bindparam("group"),
        exists().where(
            GroupMember.group_id == bindparam("group"), GroupMember.user_id == bindparam("user")
        ),
    )
    if shape is PageShape.AFTER:
        page = page.where(Message.seq > bindparam("seq")).order_by(Message.seq.asc())
    else:
        if shape is PageShape.BEFORE:
            page = page.where(Message.seq < bindparam("seq"))
        page = page.order_by(Message.seq.desc())
    # BigInteger: a page number near 2**31 times its size overflows a 32-bit offset.
    limited = page.offset(bindparam("offset", type_=BigInteger)).limit(
        bindparam("limit", type_=BigInteger)
    )
    return union_all(access, select(limited.subquery()))


async def member_last_seq(conn: AsyncConnection, group_id: str, user_id: str) -> int | None:
    """The group's last seq, or None if `user_id` is not a member (or no such group)."""
    found = await conn.scalar(_access_query(), {"group": group_id, "user": user_id})
    return None if found is None else int(found)


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
    if after_seq is not None:
        shape, seq = PageShape.AFTER, after_seq
    elif before_seq is not None:
        shape, seq = PageShape.BEFORE, before_seq
    else:
        shape, seq = PageShape.NEWEST, 0
    params = {"group": group_id, "user": user_id, "seq": seq, "offset": offset, "limit": limit}
    rows = (await conn.execute(_page_query(shape), params)).all()
    last_seq = next((row[0] for row in rows if row[1] is None), None)
    if last_seq is None:
        return None
    messages = [_payload(row[1:]) for row in rows if row[1] is not None]
    # Row order across UNION ALL branches is not promised by SQL: restore the page's order.
    messages.sort(key=lambda message: message["seq"], reverse=shape is not PageShape.AFTER)
    return int(last_seq), messages
