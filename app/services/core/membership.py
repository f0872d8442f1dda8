"""Joining and leaving a group, as appends to its log: the SYSTEM message that records the change
and the membership row commit together, in a transaction of their own that locks the group row
(so that two doctors leaving at once cannot both pass the last-doctor check). After the commit,
`member_joined` / `member_left` (to the group and the user) precede the SYSTEM message.

Rules (SPEC §4, §10): the group's DOCTOR members (or the service key) add and remove members,
an invite admits whoever accepts it (the join's `Admission` decides), anyone may leave; the
last DOCTOR member cannot leave or be removed except by the service key (409 LAST_DOCTOR); the
group role AI_ASSISTANT is for the AI assistant only, and the assistant has no other group role
(422 ROLE_MISMATCH). A SYSTEM message made with the service key is sent as the affected user.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, InvalidInput, NotFound
from app.models import GroupMember, Message, MessageType, User, UserRole
from app.realtime.envelope import Event
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.repositories.user_repository import UserRepository
from app.services.core.actor import Actor
from app.services.core.events import membership_event
from app.services.core.hooks import MembershipChange
from app.services.core.message_writer import Append, BatchFacts, Draft
from app.services.core.permissions import require_group_admin, require_member


async def require_user(users: UserRepository, user_id: str) -> User:
    user = await users.get_by_id(user_id)
    if user is None:
        raise NotFound(f"User {user_id} not found", code="USER_NOT_FOUND")
    return user


async def _role_of(members: GroupMemberRepository, group_id: str, user: User) -> str:
    member = await members.get_member(group_id, user.user_id)
    return member.user_role if member is not None else user.user_role


class Admission(Protocol):
    """Who may bring a user into a group: checked, and recorded, inside the join's
    transaction (under the group's lock)."""

    async def authorize(self, session: AsyncSession, group_id: str, actor: Actor) -> None:
        """Raise an AppError unless `actor` may add members to the group (404 for no group)."""

    async def admitted(self, session: AsyncSession) -> None:
        """Writes that belong with the join (an invite's use); may still refuse it."""


class AdminAdds:
    """The group's DOCTOR members, or the service key, add members (SPEC §4)."""

    async def authorize(self, session: AsyncSession, group_id: str, actor: Actor) -> None:
        await require_group_admin(
            GroupRepository(session), GroupMemberRepository(session), group_id, actor
        )

    async def admitted(self, session: AsyncSession) -> None:
        return None


class MemberJoin(Append):
    exclusive = True

    def __init__(
        self,
        actor: Actor,
        group_id: str,
        user_id: str,
        role: str | None,
        admission: Admission | None = None,
    ) -> None:
        self.actor = actor
        self.admission: Admission = admission or AdminAdds()
        self.group_id = group_id
        self.user_id = user_id
        self.requested_role = role
        self.also_user_ids = (user_id,)
        self.role = ""
        self.user: User | None = None
        self.member: GroupMember | None = None

    def preceding_events(self) -> Sequence[Event]:
        return (membership_event("member_joined", self.group_id, self.user_id),)

    @property
    def joined(self) -> tuple[User, GroupMember]:
        """The user and their new membership, once the append has committed."""
        if self.user is None or self.member is None:
            raise RuntimeError("the join has not been applied")
        return self.user, self.member

    async def draft(self, session: AsyncSession, facts: BatchFacts) -> Draft:
        groups, members = GroupRepository(session), GroupMemberRepository(session)
        await groups.lock(self.group_id)
        await self.admission.authorize(session, self.group_id, self.actor)
        user = self.user = await require_user(UserRepository(session), self.user_id)
        if await members.get_member(self.group_id, user.user_id) is not None:
            raise Conflict("User is already a member of this group", code="ALREADY_MEMBER")
        role = self.requested_role or user.user_role
        if (role == UserRole.AI_ASSISTANT) != user.is_ai_assistant():
            raise InvalidInput(
                "The group role AI_ASSISTANT is for the AI assistant, and only that role",
                code="ROLE_MISMATCH",
            )
        self.role = role
        self.membership = MembershipChange(self.group_id, user.user_id, role, joined=True)
        sender = self.actor.user or user
        if sender.user_id == user.user_id:
            return Draft(user.user_id, role, MessageType.SYSTEM, f"{user.username} joined")
        return Draft(
            sender.user_id,
            await _role_of(members, self.group_id, sender),
            MessageType.SYSTEM,
            f"{sender.username} added {user.username}",
        )

    async def after_insert(self, session: AsyncSession, message: Message) -> None:
        """The newcomer's read mark starts at the join message: earlier history is readable
        but not unread."""
        self.member = await GroupMemberRepository(session).add_member(
            self.group_id, self.user_id, self.role, last_read_seq=message.seq
        )
        await self.admission.admitted(session)


class MemberLeave(Append):
    exclusive = True

    def __init__(self, actor: Actor, group_id: str, user_id: str) -> None:
        self.actor = actor
        self.group_id = group_id
        self.user_id = user_id
        self.also_user_ids = (user_id,)

    def preceding_events(self) -> Sequence[Event]:
        return (membership_event("member_left", self.group_id, self.user_id),)

    async def draft(self, session: AsyncSession, facts: BatchFacts) -> Draft:
        groups, members = GroupRepository(session), GroupMemberRepository(session)
        await groups.lock(self.group_id)
        actor = self.actor
        leaving = actor.user is not None and actor.user.user_id == self.user_id
        if leaving:
            target = await require_member(groups, members, self.group_id, self.user_id)
        else:
            await require_group_admin(groups, members, self.group_id, actor)
            found = await members.get_member(self.group_id, self.user_id)
            if found is None:
                raise NotFound("User is not a member of this group", code="MEMBER_NOT_FOUND")
            target = found
        if (
            target.user_role == UserRole.DOCTOR
            and not actor.is_service
            and await members.count_role(self.group_id, UserRole.DOCTOR) <= 1
        ):
            raise Conflict(
                "The group's last doctor cannot leave; add another doctor first",
                code="LAST_DOCTOR",
            )
        user = await require_user(UserRepository(session), self.user_id)
        self.membership = MembershipChange(
            self.group_id, user.user_id, target.user_role, joined=False
        )
        sender = actor.user or user
        content = (
            f"{user.username} left"
            if sender is user or leaving
            else f"{sender.username} removed {user.username}"
        )
        return Draft(
            sender.user_id,
            await _role_of(members, self.group_id, sender),
            MessageType.SYSTEM,
            content,
        )

    async def after_insert(self, session: AsyncSession, message: Message) -> None:
        await GroupMemberRepository(session).remove_member(self.group_id, self.user_id)
