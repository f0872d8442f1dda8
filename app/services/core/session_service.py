"""Sessions (SPEC §10): opened by every sign-up, login and service-key token; refreshed with
rotation (a used refresh token presented again revokes the whole session: theft detection);
listed and ended by their user.

The hot path asks `require_open` on every authenticated call. It is answered from a
per-instance cache kept at most `OPEN_CACHE_SECONDS`; a revocation marks the session closed in
the revoking instance at once and is broadcast as the `session_revoked` signal, whose handler
(wired in app/bootstrap.py) drops it on every other instance and closes its sockets there. So a
revoked session is refused at once everywhere, and within the cache lifetime even if the
broadcast is lost.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.session import Database
from app.errors import NotFound, Unauthorized
from app.realtime.fanout import Fanout
from app.repositories.session_repository import SessionRepository, open_session_owners
from app.schemas.auth import SessionResponse
from app.services.core.auth_service import Claims, TokenService
from app.services.core.session_lookups import SessionLookups
from app.utils.id_generator import generate_session_id

logger = logging.getLogger(__name__)

SESSION_REVOKED = "session_revoked"
"""The fan-out signal naming revoked session ids."""
OPEN_CACHE_SECONDS = 4.0
"""Below SPEC §10's 5 s, so a revocation holds everywhere in time even without its broadcast."""
OPEN_CACHE_SIZE = 100_000
USER_AGENT_LENGTH = 255


def digest(secret: str) -> str:
    """How refresh tokens and reset codes are stored: they are high-entropy random strings, so
    a plain SHA-256 is enough (no salt, no stretching) and allows a lookup by value."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class TokenPair:
    session_id: str
    access_token: str
    refresh_token: str
    expires_in: int


def _invalid_refresh() -> Unauthorized:
    return Unauthorized("Refresh token is invalid or expired", code="INVALID_REFRESH_TOKEN")


class SessionService:
    def __init__(
        self, db: Database, tokens: TokenService, fanout: Fanout, *, refresh_days: int
    ) -> None:
        self.db = db
        self.tokens = tokens
        self.fanout = fanout
        self.refresh_lifetime = timedelta(days=refresh_days)
        self._open: dict[str, tuple[float, str | None]] = {}
        self._lookups = SessionLookups(self._open_owners)

    async def open(self, user_id: str, user_agent: str | None) -> TokenPair:
        async with self.db.write() as session, session.begin():
            return await self.open_in(session, user_id, user_agent)

    async def open_in(
        self, session: AsyncSession, user_id: str, user_agent: str | None
    ) -> TokenPair:
        """Open a session inside the caller's transaction (sign-up opens one with the user)."""
        now = utcnow()
        session_id = generate_session_id()
        agent = user_agent[:USER_AGENT_LENGTH] if user_agent else None
        repo = SessionRepository(session)
        await repo.create(session_id, user_id, agent, now, now + self.refresh_lifetime)
        refresh_token = await self._new_refresh_token(repo, session_id, now)
        return self._pair(user_id, session_id, refresh_token)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """A new pair for an unused, unexpired refresh token of an open session; the token
        presented is used up. Presenting a used one revokes its session. Raises 401."""
        now = utcnow()
        stolen: str | None = None
        async with self.db.write() as session, session.begin():
            repo = SessionRepository(session)
            token = await repo.get_refresh_token(digest(refresh_token))
            owner = await repo.get(token.session_id) if token is not None else None
            if token is None or owner is None or owner.revoked_at is not None:
                raise _invalid_refresh()
            if token.used_at is None and token.expires_at <= now:
                raise _invalid_refresh()
            if token.used_at is not None or not await repo.use_refresh_token(token.id, now):
                await repo.revoke([owner.session_id], now)
                stolen = owner.session_id
            else:
                new_token = await self._new_refresh_token(repo, owner.session_id, now)
                await repo.touch(owner.session_id, now, now + self.refresh_lifetime)
                await repo.prune_refresh_tokens(owner.session_id, now)
        if stolen is not None:
            logger.warning("a used refresh token was presented again: session %s revoked", stolen)
            self.revoked([stolen])
            raise _invalid_refresh()
        return self._pair(owner.user_id, owner.session_id, new_token)

    async def require_open(self, claims: Claims) -> None:
        """Raises 401 unless the token's session is open and belongs to its subject."""
        now = time.monotonic()
        cached = self._open.get(claims.session_id)
        if cached is not None and cached[0] > now:
            owner = cached[1]
        else:
            owner = await self._lookups.owner(claims.session_id)
            self._remember(claims.session_id, owner, now)
        if owner != claims.user_id:
            raise Unauthorized("The session has ended; sign in again", code="SESSION_REVOKED")

    async def list(self, user_id: str, current_session_id: str) -> list[SessionResponse]:
        async with self.db.read() as session:
            rows = await SessionRepository(session).list_open(user_id, utcnow())
        return [
            SessionResponse(
                session_id=row.session_id,
                created_at=row.created_at,
                last_used_at=row.last_used_at,
                user_agent=row.user_agent,
                current=row.session_id == current_session_id,
            )
            for row in rows
        ]

    async def end(self, user_id: str, session_id: str) -> None:
        """Revoke one of the user's sessions (logout, or ending another device's)."""
        async with self.db.write() as session, session.begin():
            repo = SessionRepository(session)
            row = await repo.get(session_id)
            if row is None or row.user_id != user_id:
                raise NotFound("No such session", code="SESSION_NOT_FOUND")
            await repo.revoke([session_id], utcnow())
        self.revoked([session_id])

    def revoked(self, session_ids: Iterable[str]) -> None:
        """After the commit of a revocation: refuse the sessions here at once and tell every
        instance (`session_revoked`), which closes their sockets."""
        ids = list(session_ids)
        if not ids:
            return
        self.forget(ids)
        self.fanout.signal(SESSION_REVOKED, ids)
        logger.info("%d session(s) revoked", len(ids))

    async def ended_among(self, session_ids: Iterable[str]) -> set[str]:
        """Of `session_ids`, those no longer open (read afresh: their cached state may predate
        a revocation whose signal was lost), marked closed in this instance's cache."""
        ids = set(session_ids)
        async with self.db.read() as session:
            still_open = await SessionRepository(session).open_among(ids, utcnow())
        ended = ids - still_open
        self.forget(ended)
        return ended

    def forget(self, session_ids: Iterable[str]) -> None:
        """Mark sessions closed in this instance's cache (the signal's handler)."""
        now = time.monotonic()
        for session_id in session_ids:
            self._remember(session_id, None, now)

    async def _open_owners(self, session_ids: Collection[str]) -> dict[str, str]:
        async with self.db.reader() as conn:
            return await open_session_owners(conn, session_ids, utcnow())

    def _remember(self, session_id: str, owner: str | None, now: float) -> None:
        if len(self._open) >= OPEN_CACHE_SIZE:
            self._open.clear()
        self._open[session_id] = (now + OPEN_CACHE_SECONDS, owner)

    async def _new_refresh_token(
        self, repo: SessionRepository, session_id: str, now: datetime
    ) -> str:
        token = secrets.token_urlsafe(32)
        await repo.add_refresh_token(digest(token), session_id, now + self.refresh_lifetime)
        return token

    def _pair(self, user_id: str, session_id: str, refresh_token: str) -> TokenPair:
        return TokenPair(
            session_id=session_id,
            access_token=self.tokens.issue(user_id, session_id),
            refresh_token=refresh_token,
            expires_in=self.tokens.expires_in,
        )
