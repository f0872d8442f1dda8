"""Queries on `attachments`: insert, look-ups, the race-free claim by one message, orphans."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Attachment, Message


class AttachmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, attachment: Attachment) -> Attachment:
        self.session.add(attachment)
        await self.session.flush()
        return attachment

    async def get(self, attachment_id: str) -> Attachment | None:
        result = await self.session.execute(
            select(Attachment).where(Attachment.attachment_id == attachment_id)
        )
        return result.scalar_one_or_none()

    async def get_unsent(self, attachment_id: str, group_id: str) -> Attachment | None:
        """The attachment if it belongs to `group_id` and no message carries it yet."""
        result = await self.session.execute(
            select(Attachment).where(
                Attachment.attachment_id == attachment_id,
                Attachment.group_id == group_id,
                Attachment.message_id.is_(None),
            )
        )
        return result.scalar_one_or_none()

    async def claim(self, attachment_id: str, group_id: str, message_id: str) -> bool:
        """Give the attachment to `message_id` if it is `group_id`'s and still unsent. One
        conditional UPDATE: of two concurrent claims (on any instance) exactly one wins."""
        result = await self.session.execute(
            update(Attachment)
            .where(
                Attachment.attachment_id == attachment_id,
                Attachment.group_id == group_id,
                Attachment.message_id.is_(None),
            )
            .values(message_id=message_id)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def is_recalled(self, message_id: str) -> bool:
        result = await self.session.execute(
            select(Message.recalled_at).where(Message.message_id == message_id)
        )
        return result.scalar_one_or_none() is not None

    async def unsent_before(self, cutoff: datetime, limit: int) -> Sequence[Attachment]:
        """Uploads never sent and older than `cutoff`, oldest first."""
        result = await self.session.execute(
            select(Attachment)
            .where(Attachment.message_id.is_(None), Attachment.created_at < cutoff)
            .order_by(Attachment.created_at)
            .limit(limit)
        )
        return result.scalars().all()

    async def delete_unsent(self, attachment_id: str) -> bool:
        """Remove the row unless a message claimed it meanwhile."""
        result = await self.session.execute(
            delete(Attachment).where(
                Attachment.attachment_id == attachment_id, Attachment.message_id.is_(None)
            )
        )
        return bool(getattr(result, "rowcount", 0) == 1)
