"""Queries on `invites`."""

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Invite


class InviteRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, invite: Invite) -> Invite:
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def get(self, code: str) -> Invite | None:
        result = await self.session.execute(select(Invite).where(Invite.code == code))
        return result.scalar_one_or_none()

    async def by_purpose(self, purpose: str) -> Invite | None:
        result = await self.session.execute(select(Invite).where(Invite.purpose == purpose))
        return result.scalar_one_or_none()

    async def delete_purpose(self, purpose: str) -> None:
        await self.session.execute(delete(Invite).where(Invite.purpose == purpose))

    async def list_usable(self, group_id: str, now: datetime) -> list[Invite]:
        result = await self.session.execute(
            select(Invite)
            .where(
                Invite.group_id == group_id,
                Invite.revoked_at.is_(None),
                Invite.expires_at > now,
                Invite.uses < Invite.max_uses,
            )
            .order_by(Invite.created_at.desc())
        )
        return list(result.scalars())

    async def use(self, code: str, kind: str, now: datetime) -> bool:
        """Count one use of a usable invite of `kind`; False when it is not (or no longer)
        usable. A conditional UPDATE, so that concurrent uses never pass `max_uses`."""
        result = await self.session.execute(
            update(Invite)
            .where(
                Invite.code == code,
                Invite.kind == kind,
                Invite.revoked_at.is_(None),
                Invite.expires_at > now,
                Invite.uses < Invite.max_uses,
            )
            .values(uses=Invite.uses + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def revoke(self, code: str, now: datetime) -> None:
        await self.session.execute(
            update(Invite)
            .where(Invite.code == code, Invite.revoked_at.is_(None))
            .values(revoked_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
