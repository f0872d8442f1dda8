"""Who is acting: a signed-in user, or a trusted back end holding the service key."""

from dataclasses import dataclass

from app.errors import PermissionDenied
from app.models import User


@dataclass(frozen=True)
class Actor:
    user: User | None = None
    is_service: bool = False

    def require_user(self) -> User:
        """The signed-in user; only called on paths where the service key was handled."""
        if self.user is None:
            raise PermissionDenied("A signed-in user is required", code="USER_REQUIRED")
        return self.user


SERVICE = Actor(is_service=True)
