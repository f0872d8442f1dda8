"""A member's send as an append to the group's log: the sender's group role is stored with the
message; a reply must name a message of the same group (422 INVALID_REPLY) and mentions must
name at most MAX_MENTIONS of its members (422 INVALID_MENTION). An attachment must be an unsent
upload of the same group (422 INVALID_ATTACHMENT); the message claims it in its own transaction
with a conditional update, so an attachment ends up in exactly one message even when two sends
race (on any instance). The draft reads only; the writer stores.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import AppError, InvalidInput, NotFound, PermissionDenied
from app.models import Attachment, Message, MessageType, User
from app.models.enums import CHANGE_TYPES
from app.repositories.attachment_repository import AttachmentRepository
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.repositories.message_repository import MessageRepository
from app.schemas.message import MAX_MENTIONS, MessageCreate
from app.services.core.message_writer import Append, BatchFacts, Draft, Key


async def not_a_member(session: AsyncSession, group_id: str) -> AppError:
    """The refusal for someone who is not in `group_id`: 404 if it does not exist, else 403."""
    if await GroupRepository(session).exists(group_id):
        return PermissionDenied("You are not a member of this group", code="NOT_A_MEMBER")
    return NotFound(f"Group {group_id} not found", code="GROUP_NOT_FOUND")


class UserSend(Append):
    """A member's TEXT message; its role in the group is stored with it. A reply must name a
    message of the same group, and mentions must name its members."""

    def __init__(self, sender: User, body: MessageCreate) -> None:
        self.sender = sender
        self.body = body
        self.group_id = body.group_id

    def membership_key(self) -> Key:
        return (self.group_id, self.sender.user_id)

    def idempotency_key(self) -> Key | None:
        client_msg_id = self.body.client_msg_id
        return (self.sender.user_id, client_msg_id) if client_msg_id is not None else None

    async def draft(self, session: AsyncSession, facts: BatchFacts) -> Draft:
        role = facts.roles.get(self.membership_key())
        if role is None:
            raise await not_a_member(session, self.group_id)
        body = self.body
        mentions = tuple(dict.fromkeys(body.mentions))
        if body.reply_to is not None:
            await _check_reply(MessageRepository(session), self.group_id, body.reply_to)
        if mentions:
            await _check_mentions(GroupMemberRepository(session), self.group_id, mentions)
        msg_type, metadata = MessageType.TEXT, None
        if body.attachment_id is not None:
            attachment = await AttachmentRepository(session).get_unsent(
                body.attachment_id, self.group_id
            )
            if attachment is None:
                raise _invalid_attachment(body.attachment_id)
            metadata = attachment_metadata(attachment)
            msg_type = MessageType.IMAGE if "width" in metadata else MessageType.FILE
        return Draft(
            self.sender.user_id,
            role,
            msg_type,
            body.content,
            body.client_msg_id,
            reply_to=body.reply_to,
            mentions=mentions,
            attachment=metadata,
        )

    async def after_insert(self, session: AsyncSession, message: Message) -> None:
        attachment_id = self.body.attachment_id
        if attachment_id is None:
            return
        claimed = await AttachmentRepository(session).claim(
            attachment_id, self.group_id, message.message_id
        )
        if not claimed:
            # Another send took it since the draft: the batch rolls back and the writer retries
            # each of its appends alone, where this one's draft refuses it.
            raise _invalid_attachment(attachment_id)


def attachment_metadata(attachment: Attachment) -> dict[str, Any]:
    """What a message stores of its attachment (SPEC §12, without the links): width and height
    only for images."""
    metadata: dict[str, Any] = {
        "attachment_id": attachment.attachment_id,
        "name": attachment.name,
        "mime": attachment.mime,
        "size": attachment.size,
    }
    if attachment.width is not None and attachment.height is not None:
        metadata["width"] = attachment.width
        metadata["height"] = attachment.height
    return metadata


def _invalid_attachment(attachment_id: str) -> AppError:
    return InvalidInput(
        f"attachment {attachment_id} is not an unsent upload of this group",
        code="INVALID_ATTACHMENT",
    )


async def _check_reply(messages: MessageRepository, group_id: str, reply_to: str) -> None:
    placement = await messages.get_placement(reply_to)
    if placement is None or placement[0] != group_id or placement[1] in CHANGE_TYPES:
        raise InvalidInput(
            f"reply_to {reply_to} is not a message of this group", code="INVALID_REPLY"
        )


async def _check_mentions(
    members: GroupMemberRepository, group_id: str, mentions: tuple[str, ...]
) -> None:
    if len(mentions) > MAX_MENTIONS:
        raise InvalidInput(f"At most {MAX_MENTIONS} users can be mentioned", code="INVALID_MENTION")
    roles = await members.get_roles((group_id, user_id) for user_id in mentions)
    strangers = [user_id for user_id in mentions if (group_id, user_id) not in roles]
    if strangers:
        raise InvalidInput(
            "Only members of the group can be mentioned",
            code="INVALID_MENTION",
            details={"not_members": strangers},
        )
