"""Groups and membership: create, read, update, list mine, add/remove members.

Membership changes are appends (membership.py): the SYSTEM message and the membership row commit
together; after the commit, `member_joined` / `member_left` and the message are pushed.
"""

from __future__ import annotations

import logging

from app.db.session import Database
from app.errors import InvalidInput, PermissionDenied
from app.models import Group, Message, User, UserRole
from app.realtime.fanout import Fanout
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.repositories.message_repository import MessageRepository
from app.repositories.user_repository import UserRepository
from app.schemas.group import (
    GroupCreate,
    GroupMemberAdd,
    GroupMemberResponse,
    GroupResponse,
    GroupSummary,
    GroupUpdate,
)
from app.schemas.message import MessageResponse
from app.services.core.actor import Actor
from app.services.core.events import group_updated_event, membership_event, message_payload
from app.services.core.hooks import GroupChange, Hooks, run_after_commit
from app.services.core.membership import MemberJoin, MemberLeave, require_user
from app.services.core.message_writer import MessageWriter
from app.services.core.permissions import require_group, require_group_admin, require_member
from app.services.core.presence_service import PresenceService
from app.utils.id_generator import generate_group_id

logger = logging.getLogger(__name__)

_GROUP_FIELDS = (
    "group_id",
    "group_name",
    "description",
    "created_by",
    "ai_enabled",
    "last_seq",
    "created_at",
    "updated_at",
)


def _group_response(group: Group, member_count: int) -> GroupResponse:
    return GroupResponse.model_validate(
        {**{c: getattr(group, c) for c in _GROUP_FIELDS}, "member_count": member_count}
    )


class GroupService:
    def __init__(
        self,
        db: Database,
        writer: MessageWriter,
        fanout: Fanout,
        presence: PresenceService,
        hooks: Hooks,
        *,
        assistant_user_id: str | None,
    ) -> None:
        """`assistant_user_id`: the AI assistant, which joins every new group; None when the
        AI layer is off."""
        self.db = db
        self.writer = writer
        self.fanout = fanout
        self.presence = presence
        self.hooks = hooks
        self.assistant_user_id = assistant_user_id

    async def create_group(self, actor: Actor, body: GroupCreate) -> GroupResponse:
        """Create a group owned by a DOCTOR (the caller, or `owner_user_id` for the service
        key); the owner joins as DOCTOR and the AI assistant, when present, as AI_ASSISTANT.
        After commit: `member_joined` of the owner, to the owner."""
        async with self.db.write() as session, session.begin():
            owner = await self._resolve_owner(UserRepository(session), actor, body)
            group = await GroupRepository(session).create(
                generate_group_id(), body.group_name, body.description, owner.user_id
            )
            members = GroupMemberRepository(session)
            await members.add_member(group.group_id, owner.user_id, UserRole.DOCTOR)
            count = 1
            if self.assistant_user_id is not None and self.assistant_user_id != owner.user_id:
                await members.add_member(
                    group.group_id, self.assistant_user_id, UserRole.AI_ASSISTANT
                )
                count += 1
        # The owner's other devices learn of the group, and their instances' routes follow.
        self.fanout.to_group(
            group.group_id,
            membership_event("member_joined", group.group_id, owner.user_id),
            also_user_ids=(owner.user_id,),
            joined=owner.user_id,
        )
        logger.info("group %s created by %s", group.group_id, owner.user_id)
        return _group_response(group, count)

    @staticmethod
    async def _resolve_owner(users: UserRepository, actor: Actor, body: GroupCreate) -> User:
        if actor.is_service:
            if body.owner_user_id is None:
                raise InvalidInput(
                    "owner_user_id is required with the service key", code="OWNER_REQUIRED"
                )
            owner = await require_user(users, body.owner_user_id)
        else:
            if body.owner_user_id is not None:
                raise InvalidInput(
                    "owner_user_id is only accepted with the service key", code="OWNER_NOT_ALLOWED"
                )
            owner = actor.require_user()
        if not owner.is_doctor():
            raise PermissionDenied("Only doctors create groups", code="NOT_A_DOCTOR")
        return owner

    async def get_group(self, reader: User, group_id: str) -> GroupResponse:
        async with self.db.read() as session:
            groups, members = GroupRepository(session), GroupMemberRepository(session)
            group = await require_group(groups, group_id)
            await require_member(groups, members, group_id, reader.user_id)
            return _group_response(group, await groups.member_count(group_id))

    async def update_group(self, actor: Actor, group_id: str, body: GroupUpdate) -> GroupResponse:
        """Rename, describe, or switch the AI (the doctors' hand-over). Emits `group_updated`;
        the group hooks see what changed (in the transaction) when anything did."""
        changes = body.model_dump(exclude_unset=True)
        if changes.get("group_name", "") is None or changes.get("ai_enabled", False) is None:
            raise InvalidInput("group_name and ai_enabled cannot be null", code="NULL_FIELD")
        async with self.db.write() as session, session.begin():
            groups, members = GroupRepository(session), GroupMemberRepository(session)
            group = await require_group_admin(groups, members, group_id, actor)
            change = GroupChange(
                group_id,
                by_user_id=actor.user.user_id if actor.user is not None else None,
                changed=frozenset(f for f, v in changes.items() if getattr(group, f) != v),
                ai_enabled_before=group.ai_enabled,
                ai_enabled=changes.get("ai_enabled", group.ai_enabled),
            )
            for field, value in changes.items():
                setattr(group, field, value)
            await groups.update(group)
            response = _group_response(group, await groups.member_count(group_id))
            after_commit = await self.hooks.group_updated(session, change) if change.changed else []
        self.fanout.to_group(group_id, group_updated_event(response))
        await run_after_commit(after_commit)
        return response

    async def list_groups(self, user: User) -> list[GroupSummary]:
        """The caller's groups with my_role, unread_count and last_message, latest first."""
        async with self.db.read() as session:
            memberships = await GroupMemberRepository(session).get_memberships(user.user_id)
            messages = MessageRepository(session)
            last = await messages.get_last_messages([g.group_id for _, g in memberships])
            unread = await messages.count_unread(user.user_id)
            counts = await GroupMemberRepository(session).count_by_groups(
                [g.group_id for _, g in memberships]
            )
        summaries = [
            GroupSummary.model_validate(
                {
                    **_group_response(group, counts.get(group.group_id, 0)).model_dump(),
                    "my_role": member.user_role,
                    "unread_count": unread.get(group.group_id, 0),
                    "last_read_seq": member.last_read_seq,
                    "last_message": (
                        self._last_message(last[group.group_id]) if group.group_id in last else None
                    ),
                }
            )
            for member, group in memberships
        ]
        summaries.sort(key=lambda s: s.updated_at, reverse=True)
        return summaries

    def _last_message(self, message: Message) -> MessageResponse:
        """A group's last message as clients get it (an attachment with its signed links)."""
        if message.attachment is None:
            return MessageResponse.model_validate(message)
        return MessageResponse.model_validate(message_payload(message, self.hooks.present))

    async def add_member(
        self, actor: Actor, group_id: str, body: GroupMemberAdd
    ) -> GroupMemberResponse:
        """Add a user (group DOCTOR or service key); the role defaults to the user's system
        role. After commit: `member_joined`, then the SYSTEM message."""
        return await self.join(MemberJoin(actor, group_id, body.user_id, body.user_role))

    async def join(self, join: MemberJoin) -> GroupMemberResponse:
        """Apply a join (its admission decides who may) and describe the new membership."""
        await self.writer.append(join)
        user, member = join.joined
        logger.info("user %s joined group %s as %s", user.user_id, join.group_id, member.user_role)
        return GroupMemberResponse(
            user_id=user.user_id,
            username=user.username,
            user_role=UserRole(member.user_role),
            joined_at=member.joined_at,
            online=bool(await self.presence.online([user.user_id])),
        )

    async def remove_member(self, actor: Actor, group_id: str, user_id: str) -> None:
        """Remove a member (group DOCTOR or service key), or leave (any member, themselves).
        After commit: `member_left`, then the SYSTEM message (to the leaver too)."""
        await self.writer.append(MemberLeave(actor, group_id, user_id))
        logger.info("user %s left group %s", user_id, group_id)

    async def get_group_members(self, reader: User, group_id: str) -> list[GroupMemberResponse]:
        async with self.db.read() as session:
            groups, members = GroupRepository(session), GroupMemberRepository(session)
            await require_member(groups, members, group_id, reader.user_id)
            rows = await members.get_members_by_group(group_id)
            users = await UserRepository(session).get_many(m.user_id for m in rows)
        online = await self.presence.online(users)
        if self.assistant_user_id is not None:
            online.add(self.assistant_user_id)  # the assistant answers whenever the AI layer runs
        return [
            GroupMemberResponse(
                user_id=m.user_id,
                username=users[m.user_id].username,
                user_role=UserRole(m.user_role),
                joined_at=m.joined_at,
                online=m.user_id in online,
            )
            for m in rows
        ]
