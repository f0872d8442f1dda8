"""Queries on `password_reset_codes`."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import PasswordResetCode


class PasswordResetRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, code_hash: str, user_id: str, expires_at: datetime) -> None:
        self.session.add(
            PasswordResetCode(code_hash=code_hash, user_id=user_id, expires_at=expires_at)
        )
        await self.session.flush()

    async def is_usable(self, code_hash: str, now: datetime) -> bool:
        result = await self.session.execute(
            select(PasswordResetCode.id).where(
                PasswordResetCode.code_hash == code_hash,
                PasswordResetCode.used_at.is_(None),
                PasswordResetCode.expires_at > now,
            )
        )
        return result.first() is not None

    async def redeem(self, code_hash: str, now: datetime) -> str | None:
        """Use an unused, unexpired code once; its user_id, or None."""
        found = await self.session.execute(
            select(PasswordResetCode.id, PasswordResetCode.user_id).where(
                PasswordResetCode.code_hash == code_hash,
                PasswordResetCode.used_at.is_(None),
                PasswordResetCode.expires_at > now,
            )
        )
        row = found.first()
        if row is None:
            return None
        used = await self.session.execute(
            update(PasswordResetCode)
            .where(PasswordResetCode.id == row.id, PasswordResetCode.used_at.is_(None))
            .values(used_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return str(row.user_id) if getattr(used, "rowcount", 0) else None
