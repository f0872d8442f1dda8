"""Queries on `sessions` and `refresh_tokens`."""

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.models import RefreshToken, UserSession


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        session_id: str,
        user_id: str,
        user_agent: str | None,
        now: datetime,
        expires_at: datetime,
    ) -> UserSession:
        row = UserSession(
            session_id=session_id,
            user_id=user_id,
            user_agent=user_agent,
            last_used_at=now,
            expires_at=expires_at,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, session_id: str) -> UserSession | None:
        result = await self.session.execute(
            select(UserSession).where(UserSession.session_id == session_id)
        )
        return result.scalar_one_or_none()

    async def open_among(self, session_ids: Iterable[str], now: datetime) -> set[str]:
        """Of `session_ids`, those still open."""
        ids = list(set(session_ids))
        if not ids:
            return set()
        result = await self.session.execute(
            select(UserSession.session_id).where(
                UserSession.session_id.in_(ids),
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > now,
            )
        )
        return set(result.scalars())

    async def list_open(self, user_id: str, now: datetime) -> list[UserSession]:
        result = await self.session.execute(
            select(UserSession)
            .where(
                UserSession.user_id == user_id,
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > now,
            )
            .order_by(UserSession.last_used_at.desc())
        )
        return list(result.scalars())

    async def open_ids(self, user_id: str, now: datetime) -> list[str]:
        result = await self.session.execute(
            select(UserSession.session_id).where(
                UserSession.user_id == user_id,
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > now,
            )
        )
        return list(result.scalars())

    async def revoke(self, session_ids: Iterable[str], now: datetime) -> None:
        ids = list(session_ids)
        if not ids:
            return
        await self.session.execute(
            update(UserSession)
            .where(UserSession.session_id.in_(ids), UserSession.revoked_at.is_(None))
            .values(revoked_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )

    async def touch(self, session_id: str, now: datetime, expires_at: datetime) -> None:
        await self.session.execute(
            update(UserSession)
            .where(UserSession.session_id == session_id)
            .values(last_used_at=now, expires_at=expires_at, updated_at=now)
            .execution_options(synchronize_session=False)
        )

    async def add_refresh_token(
        self, token_hash: str, session_id: str, expires_at: datetime
    ) -> None:
        self.session.add(
            RefreshToken(token_hash=token_hash, session_id=session_id, expires_at=expires_at)
        )
        await self.session.flush()

    async def get_refresh_token(self, token_hash: str) -> RefreshToken | None:
        result = await self.session.execute(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        )
        return result.scalar_one_or_none()

    async def use_refresh_token(self, token_id: int, now: datetime) -> bool:
        """Mark a refresh token used; False when another request used it first."""
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
            .values(used_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def prune_refresh_tokens(self, session_id: str, now: datetime) -> None:
        """Drop the session's expired tokens: past expiry a token is refused anyway."""
        await self.session.execute(
            delete(RefreshToken).where(
                RefreshToken.session_id == session_id, RefreshToken.expires_at <= now
            )
        )


async def open_session_owners(
    conn: AsyncConnection, session_ids: Collection[str], now: datetime
) -> dict[str, str]:
    """The users of those of `session_ids` that are open (not revoked, not expired). On a bare
    connection: every authenticated call whose session is not cached waits for this."""
    rows = await conn.execute(
        select(UserSession.session_id, UserSession.user_id).where(
            UserSession.session_id.in_(session_ids),
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
        )
    )
    return {row.session_id: row.user_id for row in rows}
