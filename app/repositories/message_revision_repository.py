"""Queries on `message_revisions`: keep a message's content before a change, list them."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Message, MessageRevision


class MessageRevisionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def stage(self, target: Message, *, change: Message) -> MessageRevision:
        """Add `target`'s current content, replaced by the entry `change` (and at its time), to
        the transaction (written at the next flush)."""
        revision = MessageRevision(
            message_id=target.message_id,
            change_message_id=change.message_id,
            change_type=change.msg_type,
            changed_by=change.from_user_id,
            msg_content=target.msg_content,
            created_at=change.created_at,
        )
        self.session.add(revision)
        return revision

    async def list_for(self, message_id: str) -> list[MessageRevision]:
        """The message's earlier contents, oldest first."""
        result = await self.session.execute(
            select(MessageRevision)
            .where(MessageRevision.message_id == message_id)
            .order_by(MessageRevision.id)
        )
        return list(result.scalars())
