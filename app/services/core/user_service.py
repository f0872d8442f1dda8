"""Users: sign-up (optionally with login and password, a doctor invite), profiles, system-role
changes, authentication of access tokens, and the one AI assistant user."""

import logging
import time
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from app.db.session import Database
from app.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unauthorized
from app.models import User, UserRole
from app.repositories.user_repository import UserRepository
from app.schemas.user import ProfileUpdate, UserCreate
from app.services.core.actor import Actor
from app.services.core.auth_service import TokenService
from app.services.core.invite_service import redeem_doctor_invite
from app.services.core.passwords import Passwords
from app.services.core.session_service import SessionService, TokenPair
from app.utils.id_generator import generate_user_id

logger = logging.getLogger(__name__)

AI_ASSISTANT_USER_ID = "user_ai_assistant"
USER_CACHE_SECONDS = 30.0
USER_CACHE_SIZE = 50_000


@dataclass(frozen=True)
class Principal:
    """The signed-in user and the session their token belongs to."""

    user: User
    session_id: str


def _login_taken() -> Conflict:
    return Conflict("This login is taken", code="LOGIN_TAKEN")


class UserService:
    def __init__(
        self,
        db: Database,
        tokens: TokenService,
        sessions: SessionService,
        passwords: Passwords,
        *,
        registration_open: bool,
        doctors_need_invite: bool,
    ) -> None:
        self.db = db
        self.tokens = tokens
        self.sessions = sessions
        self.passwords = passwords
        self.registration_open = registration_open
        self.doctors_need_invite = doctors_need_invite
        self._cache: dict[str, tuple[float, User]] = {}

    async def create_user(
        self, body: UserCreate, *, service_key: bool, user_agent: str | None
    ) -> tuple[User, TokenPair]:
        """Register a user and open their first session. Needs the service key when
        registration is closed; AI_ASSISTANT accounts are made by the service only; with
        `DOCTOR_SIGNUP=invite` a DOCTOR needs the service key or a doctor invite code, which
        is used up with the sign-up."""
        self._check_signup(body, service_key=service_key)
        password_hash = await self.passwords.hash(body.password) if body.password else None
        try:
            async with self.db.write() as session, session.begin():
                users = UserRepository(session)
                if body.login is not None and await users.login_taken(body.login):
                    raise _login_taken()
                if body.invite_code is not None and not await redeem_doctor_invite(
                    session, body.invite_code
                ):
                    raise _invite_required()
                user = await users.create(
                    generate_user_id(),
                    body.username,
                    body.user_role,
                    login=body.login,
                    password_hash=password_hash,
                )
                pair = await self.sessions.open_in(session, user.user_id, user_agent)
        except IntegrityError:
            if body.login is None:
                raise
            raise _login_taken() from None  # a concurrent sign-up took it first
        logger.info("user %s created as %s", user.user_id, user.user_role)
        return user, pair

    def _check_signup(self, body: UserCreate, *, service_key: bool) -> None:
        if not self.registration_open and not service_key:
            raise PermissionDenied("Registration is closed", code="REGISTRATION_CLOSED")
        if body.user_role == UserRole.AI_ASSISTANT and not service_key:
            raise PermissionDenied(
                "AI_ASSISTANT users are created by the service", code="ROLE_NOT_ALLOWED"
            )
        if body.invite_code is not None and body.user_role != UserRole.DOCTOR:
            raise InvalidInput(
                "invite_code is a doctor invite; accept a group invite after signing up",
                code="INVITE_NOT_FOR_ROLE",
            )
        if (
            body.user_role == UserRole.DOCTOR
            and self.doctors_need_invite
            and not service_key
            and body.invite_code is None
        ):
            raise _invite_required()

    async def get_user(self, user_id: str) -> User:
        async with self.db.read() as session:
            user = await UserRepository(session).get_by_id(user_id)
        if user is None:
            raise NotFound(f"User {user_id} not found", code="USER_NOT_FOUND")
        return user

    async def authenticate(self, token: str) -> Principal:
        """The user and session a bearer token names; Unauthorized if the token is bad, its
        session has ended, or its user is gone.

        Users are cached for `USER_CACHE_SECONDS` so a request does not pay a database round
        trip to learn who is calling; a role change on another instance shows within that time.
        """
        claims = self.tokens.verify(token)
        await self.sessions.require_open(claims)
        cached = self._cache.get(claims.user_id)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return Principal(cached[1], claims.session_id)
        async with self.db.read() as session:
            user = await UserRepository(session).get_by_id(claims.user_id)
        if user is None:
            raise Unauthorized("Token subject no longer exists", code="INVALID_TOKEN")
        if len(self._cache) >= USER_CACHE_SIZE:
            self._cache.clear()
        self._cache[claims.user_id] = (now + USER_CACHE_SECONDS, user)
        return Principal(user, claims.session_id)

    async def update_profile(self, user: User, body: ProfileUpdate) -> User:
        """Change the caller's own profile (the display name)."""
        changes = body.model_dump(exclude_unset=True)
        if "username" in changes and changes["username"] is None:
            raise InvalidInput("username cannot be null", code="NULL_FIELD")
        async with self.db.write() as session, session.begin():
            repo = UserRepository(session)
            stored = await repo.get_by_id(user.user_id)
            if stored is None:
                raise NotFound(f"User {user.user_id} not found", code="USER_NOT_FOUND")
            for field, value in changes.items():
                setattr(stored, field, value)
            await repo.update(stored)
        self.forget(user.user_id)
        return stored

    async def update_user_role(self, actor: Actor, user_id: str, new_role: str) -> User:
        """Change a user's system role (service key only). Group roles are unchanged."""
        if not actor.is_service:
            raise PermissionDenied(
                "Changing a system role needs the service key", code="SERVICE_KEY_REQUIRED"
            )
        async with self.db.write() as session, session.begin():
            repo = UserRepository(session)
            user = await repo.get_by_id(user_id)
            if user is None:
                raise NotFound(f"User {user_id} not found", code="USER_NOT_FOUND")
            user.user_role = new_role
            await repo.update(user)
        self.forget(user_id)
        logger.info("user %s system role set to %s", user_id, new_role)
        return user

    def forget(self, user_id: str) -> None:
        """Drop a user from this instance's cache after a change."""
        self._cache.pop(user_id, None)

    async def issue_token(self, actor: Actor, user_id: str, user_agent: str | None) -> TokenPair:
        """A new session for an existing user, for a back end holding the service key."""
        if not actor.is_service:
            raise Unauthorized("A valid X-API-Key is required", code="SERVICE_KEY_REQUIRED")
        await self.get_user(user_id)
        return await self.sessions.open(user_id, user_agent)

    async def ensure_ai_assistant(self, username: str) -> User:
        """The deployment's AI assistant user, created on first need.

        Its id is fixed, so instances starting together race on the unique user_id and the
        loser reads the winner's row: there is exactly one assistant per deployment.
        """
        async with self.db.read() as session:
            existing = await UserRepository(session).get_by_id(AI_ASSISTANT_USER_ID)
        if existing is not None:
            return existing
        try:
            async with self.db.write() as session, session.begin():
                user = await UserRepository(session).create(
                    AI_ASSISTANT_USER_ID, username, UserRole.AI_ASSISTANT
                )
        except IntegrityError:
            return await self.get_user(AI_ASSISTANT_USER_ID)
        logger.info("AI assistant user %s created", user.user_id)
        return user


def _invite_required() -> PermissionDenied:
    return PermissionDenied(
        "Signing up as a doctor needs a valid doctor invite code", code="DOCTOR_INVITE_REQUIRED"
    )
