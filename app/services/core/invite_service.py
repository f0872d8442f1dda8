"""Invites (SPEC §10). Group invites: a group's doctors (or the service key) create, list and
revoke them; anyone holding the code sees a preview; a signed-in user accepts one and joins
through the same append as any join (`MemberJoin`, with `InviteAdmission`): the use of the
invite, the membership row and the SYSTEM message commit together. Doctor invites: a DOCTOR
(or the service key) creates one, used once at sign-up (`redeem_doctor_invite`).

A code of the wrong shape is unknown without a database look-up. While no doctor exists, one
bootstrap doctor invite (`ensure_bootstrap`) makes the first doctor possible; instances that
start together agree on a single one through its unique `purpose`.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.session import Database
from app.errors import NotFound, PermissionDenied
from app.models import Invite, InviteKind, User, UserRole
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.repositories.invite_repository import InviteRepository
from app.repositories.user_repository import UserRepository
from app.schemas.group import GroupMemberResponse
from app.schemas.invite import (
    DoctorInviteCreate,
    GroupInviteCreate,
    InvitePreview,
    InviteResponse,
)
from app.services.core.actor import Actor
from app.services.core.group_service import GroupService
from app.services.core.membership import MemberJoin
from app.services.core.permissions import require_group, require_group_admin

logger = logging.getLogger(__name__)

CODE_BYTES = 18
"""144 random bits, 24 URL-safe characters."""
CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{24}")
BOOTSTRAP_PURPOSE = "bootstrap-doctor"
BOOTSTRAP_HOURS = 72


def invite_url(code: str) -> str:
    return f"/#invite={code}"


def _not_found() -> NotFound:
    return NotFound("Invite not found, used up, revoked or expired", code="INVITE_NOT_FOUND")


def _well_formed(code: str) -> bool:
    return CODE_PATTERN.fullmatch(code) is not None


def _usable(invite: Invite, now: datetime) -> bool:
    return invite.revoked_at is None and invite.expires_at > now and invite.uses < invite.max_uses


def _response(invite: Invite) -> InviteResponse:
    return InviteResponse(
        code=invite.code,
        url=invite_url(invite.code),
        kind=InviteKind(invite.kind),
        group_id=invite.group_id,
        user_role=UserRole(invite.user_role),
        max_uses=invite.max_uses,
        uses=invite.uses,
        expires_at=invite.expires_at,
        created_at=invite.created_at,
    )


def _new_invite(kind: InviteKind, role: str, hours: int, **fields: object) -> Invite:
    now = utcnow()
    return Invite(
        code=secrets.token_urlsafe(CODE_BYTES),
        kind=kind,
        user_role=role,
        uses=0,
        expires_at=now + timedelta(hours=hours),
        created_at=now,
        **fields,
    )


async def redeem_doctor_invite(session: AsyncSession, code: str) -> bool:
    """Use a doctor invite once, inside the sign-up's transaction; False if it is not usable."""
    if not _well_formed(code):
        return False
    return await InviteRepository(session).use(code, InviteKind.DOCTOR, utcnow())


class InviteAdmission:
    """A join admitted by a group invite: it must be a usable invite of this group; its use is
    counted with the join (a conditional UPDATE, so `max_uses` holds under concurrency)."""

    def __init__(self, code: str) -> None:
        self.code = code

    async def authorize(self, session: AsyncSession, group_id: str, actor: Actor) -> None:
        await require_group(GroupRepository(session), group_id)
        invite = await InviteRepository(session).get(self.code)
        now = utcnow()
        if (
            invite is None
            or invite.group_id != group_id
            or invite.revoked_at is not None
            or invite.expires_at <= now
        ):
            raise _not_found()

    async def admitted(self, session: AsyncSession) -> None:
        if not await InviteRepository(session).use(self.code, InviteKind.GROUP, utcnow()):
            raise _not_found()


class InviteService:
    def __init__(self, db: Database, groups: GroupService) -> None:
        self.db = db
        self.groups = groups

    async def create_group_invite(
        self, actor: Actor, group_id: str, body: GroupInviteCreate
    ) -> InviteResponse:
        """A group invite (the group's doctors or the service key)."""
        async with self.db.write() as session, session.begin():
            await require_group_admin(
                GroupRepository(session), GroupMemberRepository(session), group_id, actor
            )
            invite = await InviteRepository(session).create(
                _new_invite(
                    InviteKind.GROUP,
                    body.user_role,
                    body.expires_in_hours,
                    group_id=group_id,
                    created_by=actor.user.user_id if actor.user else None,
                    max_uses=body.max_uses,
                )
            )
        logger.info("invite to group %s created (%d uses)", group_id, body.max_uses)
        return _response(invite)

    async def create_doctor_invite(self, actor: Actor, body: DoctorInviteCreate) -> InviteResponse:
        """A doctor invite, usable once at sign-up (a DOCTOR or the service key)."""
        if not actor.is_service and not actor.require_user().is_doctor():
            raise PermissionDenied("Only doctors invite doctors", code="NOT_A_DOCTOR")
        async with self.db.write() as session, session.begin():
            invite = await InviteRepository(session).create(
                _new_invite(
                    InviteKind.DOCTOR,
                    UserRole.DOCTOR,
                    body.expires_in_hours,
                    created_by=actor.user.user_id if actor.user else None,
                    max_uses=1,
                )
            )
        logger.info("doctor invite created")
        return _response(invite)

    async def list_group_invites(self, actor: Actor, group_id: str) -> list[InviteResponse]:
        """The group's usable invites, newest first (the group's doctors or the service key)."""
        async with self.db.read() as session:
            await require_group_admin(
                GroupRepository(session), GroupMemberRepository(session), group_id, actor
            )
            invites = await InviteRepository(session).list_usable(group_id, utcnow())
        return [_response(invite) for invite in invites]

    async def revoke(self, actor: Actor, code: str) -> None:
        """Revoke an invite: a group invite by the group's doctors, a doctor invite by its
        creator; the service key revokes any. Revoking twice is harmless."""
        if not _well_formed(code):
            raise _not_found()
        async with self.db.write() as session, session.begin():
            invites = InviteRepository(session)
            invite = await invites.get(code)
            if invite is None:
                raise _not_found()
            if invite.group_id is not None:
                await require_group_admin(
                    GroupRepository(session), GroupMemberRepository(session), invite.group_id, actor
                )
            elif not actor.is_service and actor.require_user().user_id != invite.created_by:
                raise PermissionDenied(
                    "Only its creator revokes a doctor invite", code="NOT_THE_INVITER"
                )
            await invites.revoke(code, utcnow())
        logger.info("invite revoked")

    async def preview(self, code: str) -> InvitePreview:
        """What a usable invite offers (no sign-in needed); 404 for anything else."""
        if not _well_formed(code):
            raise _not_found()
        async with self.db.read() as session:
            invite = await InviteRepository(session).get(code)
            if invite is None or not _usable(invite, utcnow()):
                raise _not_found()
            group = (
                await GroupRepository(session).get_by_id(invite.group_id)
                if invite.group_id is not None
                else None
            )
            inviter = (
                await UserRepository(session).get_by_id(invite.created_by)
                if invite.created_by is not None
                else None
            )
        return InvitePreview(
            kind=InviteKind(invite.kind),
            group_name=group.group_name if group is not None else None,
            inviter_name=inviter.username if inviter is not None else None,
            user_role=UserRole(invite.user_role),
            expires_at=invite.expires_at,
        )

    async def accept(self, user: User, code: str) -> GroupMemberResponse:
        """Join the invite's group in its role. 404 for an unusable invite (or a doctor
        invite); 409 ALREADY_MEMBER when the user is in the group already. After commit:
        `member_joined`, then the SYSTEM message."""
        if not _well_formed(code):
            raise _not_found()
        async with self.db.read() as session:
            invite = await InviteRepository(session).get(code)
        if invite is None or invite.kind != InviteKind.GROUP or invite.group_id is None:
            raise _not_found()
        return await self.groups.join(
            MemberJoin(
                Actor(user=user),
                invite.group_id,
                user.user_id,
                invite.user_role,
                InviteAdmission(code),
            )
        )

    async def ensure_bootstrap(self) -> str | None:
        """While no DOCTOR exists, the one usable bootstrap doctor invite (created if there is
        none, replacing a used-up or expired one); its code, or None when a doctor exists."""
        async with self.db.read() as session:
            if await UserRepository(session).any_doctor():
                return None
            existing = await InviteRepository(session).by_purpose(BOOTSTRAP_PURPOSE)
        if existing is not None and _usable(existing, utcnow()):
            return existing.code
        try:
            async with self.db.write() as session, session.begin():
                invites = InviteRepository(session)
                await invites.delete_purpose(BOOTSTRAP_PURPOSE)
                invite = await invites.create(
                    _new_invite(
                        InviteKind.DOCTOR,
                        UserRole.DOCTOR,
                        BOOTSTRAP_HOURS,
                        max_uses=1,
                        purpose=BOOTSTRAP_PURPOSE,
                    )
                )
            return invite.code
        except IntegrityError:
            # Another instance starting at the same time made it first: use that one.
            async with self.db.read() as session:
                winner = await InviteRepository(session).by_purpose(BOOTSTRAP_PURPOSE)
            return winner.code if winner is not None else None
