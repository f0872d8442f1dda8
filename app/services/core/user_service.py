"""Users: sign-up, profiles, system-role changes, tokens, and the one AI assistant user."""

import logging
import time

from sqlalchemy.exc import IntegrityError

from app.db.session import Database
from app.errors import NotFound, PermissionDenied, Unauthorized
from app.models import User, UserRole
from app.repositories.user_repository import UserRepository
from app.schemas.user import UserCreate
from app.services.core.actor import Actor
from app.services.core.auth_service import IssuedToken, TokenService
from app.utils.id_generator import generate_user_id

logger = logging.getLogger(__name__)

AI_ASSISTANT_USER_ID = "user_ai_assistant"
USER_CACHE_SECONDS = 30.0
USER_CACHE_SIZE = 50_000


class UserService:
    def __init__(self, db: Database, tokens: TokenService, *, registration_open: bool) -> None:
        self.db = db
        self.tokens = tokens
        self.registration_open = registration_open
        self._cache: dict[str, tuple[float, User]] = {}

    async def create_user(self, body: UserCreate, *, service_key: bool) -> tuple[User, IssuedToken]:
        """Register a user and issue their first token. Needs the service key when
        registration is closed; AI_ASSISTANT accounts are made by the service only."""
        if not self.registration_open and not service_key:
            raise PermissionDenied("Registration is closed", code="REGISTRATION_CLOSED")
        if body.user_role == UserRole.AI_ASSISTANT and not service_key:
            raise PermissionDenied(
                "AI_ASSISTANT users are created by the service", code="ROLE_NOT_ALLOWED"
            )
        async with self.db.write() as session, session.begin():
            user = await UserRepository(session).create(
                generate_user_id(), body.username, body.user_role
            )
        logger.info("user %s created as %s", user.user_id, user.user_role)
        return user, self.tokens.issue(user.user_id)

    async def get_user(self, user_id: str) -> User:
        async with self.db.read() as session:
            user = await UserRepository(session).get_by_id(user_id)
        if user is None:
            raise NotFound(f"User {user_id} not found", code="USER_NOT_FOUND")
        return user

    async def authenticate(self, token: str) -> User:
        """The user a bearer token names; Unauthorized if the token or the user is gone.

        Users are cached for `USER_CACHE_SECONDS` so a request does not pay a database round
        trip to learn who is calling; a role change on another instance shows within that time.
        """
        user_id = self.tokens.verify(token)
        cached = self._cache.get(user_id)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self.db.read() as session:
            user = await UserRepository(session).get_by_id(user_id)
        if user is None:
            raise Unauthorized("Token subject no longer exists", code="INVALID_TOKEN")
        if len(self._cache) >= USER_CACHE_SIZE:
            self._cache.clear()
        self._cache[user_id] = (now + USER_CACHE_SECONDS, user)
        return user

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
        self._cache.pop(user_id, None)
        logger.info("user %s system role set to %s", user_id, new_role)
        return user

    async def issue_token(self, actor: Actor, user_id: str) -> IssuedToken:
        """A token for an existing user, for a back end holding the service key."""
        if not actor.is_service:
            raise Unauthorized("A valid X-API-Key is required", code="SERVICE_KEY_REQUIRED")
        await self.get_user(user_id)
        return self.tokens.issue(user_id)

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
