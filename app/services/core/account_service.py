"""Passwords of signed-up users (SPEC §10): login (throttled, one answer for every failure),
password change (ends the user's other sessions), and help-desk reset codes (one-time, 24 h,
stored hashed; a reset ends every session of the user)."""

from __future__ import annotations

import base64
import logging
import secrets
from datetime import timedelta

from app.db.base import utcnow
from app.db.session import Database
from app.errors import InvalidInput, PermissionDenied, Unauthorized
from app.models import User
from app.repositories.password_reset_repository import PasswordResetRepository
from app.repositories.session_repository import SessionRepository
from app.repositories.user_repository import UserRepository
from app.schemas.auth import ResetCodeResponse
from app.services.core.actor import Actor
from app.services.core.login_throttle import LoginThrottle
from app.services.core.passwords import Passwords
from app.services.core.session_service import SessionService, TokenPair, digest
from app.services.core.user_service import Principal, UserService

logger = logging.getLogger(__name__)

RESET_CODE_LIFETIME = timedelta(hours=24)
RESET_CODE_BYTES = 16
"""128 bits, written as 26 base32 letters and digits (easy to read out over the phone)."""


def _invalid_code() -> InvalidInput:
    return InvalidInput(
        "The code is unknown, used or expired", code="INVALID_CODE", http_status=400
    )


def _normalise_code(code: str) -> str:
    return code.strip().replace("-", "").replace(" ", "").upper()


class AccountService:
    def __init__(
        self,
        db: Database,
        users: UserService,
        sessions: SessionService,
        passwords: Passwords,
        throttle: LoginThrottle,
    ) -> None:
        self.db = db
        self.users = users
        self.sessions = sessions
        self.passwords = passwords
        self.throttle = throttle

    async def login(
        self, login: str, password: str, *, client_ip: str | None, user_agent: str | None
    ) -> tuple[User, TokenPair]:
        """Open a session for the right login and password. Raises 401 INVALID_CREDENTIALS for
        any failure (the same answer, in about the same time), 429 when throttled."""
        async with self.throttle.attempt(login, client_ip) as attempt:
            async with self.db.read() as session:
                user = await UserRepository(session).get_by_login(login)
            stored = user.password_hash if user is not None else None
            matches = await self.passwords.verify(stored, password)
            if not matches or user is None or stored is None:
                attempt.fail()
                raise Unauthorized("Wrong login or password", code="INVALID_CREDENTIALS")
        if self.passwords.needs_rehash(stored):
            await self._set_password(user.user_id, await self.passwords.hash(password))
        pair = await self.sessions.open(user.user_id, user_agent)
        logger.info("user %s signed in", user.user_id)
        return user, pair

    async def change_password(
        self, principal: Principal, current: str, new: str, *, client_ip: str | None
    ) -> None:
        """Check the current password (a wrong one counts as a failed login: 403
        WRONG_PASSWORD, then 429), store the new one and end every other session."""
        user = await self.users.get_user(principal.user.user_id)
        async with self.throttle.attempt(user.login or user.user_id, client_ip) as attempt:
            if not await self.passwords.verify(user.password_hash, current):
                attempt.fail()
                raise PermissionDenied("The current password is wrong", code="WRONG_PASSWORD")
        new_hash = await self.passwords.hash(new)
        now = utcnow()
        async with self.db.write() as session, session.begin():
            await UserRepository(session).set_password_hash(user.user_id, new_hash)
            repo = SessionRepository(session)
            others = [
                sid for sid in await repo.open_ids(user.user_id, now) if sid != principal.session_id
            ]
            await repo.revoke(others, now)
        self.sessions.revoked(others)
        logger.info(
            "user %s changed their password; %d other session(s) ended", user.user_id, len(others)
        )

    async def create_reset_code(self, actor: Actor, user_id: str) -> ResetCodeResponse:
        """A one-time code for a help desk to hand to the user (service key only)."""
        if not actor.is_service:
            raise PermissionDenied("Reset codes need the service key", code="SERVICE_KEY_REQUIRED")
        await self.users.get_user(user_id)
        code = base64.b32encode(secrets.token_bytes(RESET_CODE_BYTES)).decode().rstrip("=")
        expires_at = utcnow() + RESET_CODE_LIFETIME
        async with self.db.write() as session, session.begin():
            await PasswordResetRepository(session).create(digest(code), user_id, expires_at)
        logger.info("password reset code issued for user %s", user_id)
        return ResetCodeResponse(code=code, expires_at=expires_at)

    async def reset_password(self, code: str, new_password: str) -> None:
        """Use a reset code once: set the new password and end every session of the user.
        400 INVALID_CODE for an unknown, used or expired code (checked before any hashing)."""
        code_hash = digest(_normalise_code(code))
        async with self.db.read() as session:
            if not await PasswordResetRepository(session).is_usable(code_hash, utcnow()):
                raise _invalid_code()
        new_hash = await self.passwords.hash(new_password)
        now = utcnow()
        async with self.db.write() as session, session.begin():
            user_id = await PasswordResetRepository(session).redeem(code_hash, now)
            if user_id is None:
                raise _invalid_code()
            users = UserRepository(session)
            await users.set_password_hash(user_id, new_hash)
            user = await users.get_by_id(user_id)
            login = user.login if user is not None else None
            repo = SessionRepository(session)
            ended = await repo.open_ids(user_id, now)
            await repo.revoke(ended, now)
        self.sessions.revoked(ended)
        if login is not None:
            await self.throttle.reset(login)
        logger.info("password of user %s reset; %d session(s) ended", user_id, len(ended))

    async def _set_password(self, user_id: str, password_hash: str) -> None:
        async with self.db.write() as session, session.begin():
            await UserRepository(session).set_password_hash(user_id, password_hash)
