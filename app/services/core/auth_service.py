"""Access tokens (JWT, `sub` = user_id) and the service-to-service key."""

import hmac
import time
from dataclasses import dataclass
from datetime import timedelta

import jwt

from app.config import Settings
from app.db.base import utcnow
from app.errors import Unauthorized

ALGORITHM = "HS256"
VERIFIED_CACHE_SIZE = 100_000


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


class TokenService:
    def __init__(self, settings: Settings) -> None:
        self._secret = settings.jwt_secret
        self._lifetime = timedelta(minutes=settings.access_token_expire_minutes)
        self._service_key = settings.service_api_key.get_secret_value()
        self._verified: dict[str, tuple[float, str]] = {}

    def issue(self, user_id: str) -> IssuedToken:
        now = utcnow()
        claims = {"sub": user_id, "iat": now, "exp": now + self._lifetime, "typ": "access"}
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return IssuedToken(token, int(self._lifetime.total_seconds()))

    def verify(self, token: str) -> str:
        """The token's user_id; raises `Unauthorized` for a bad, forged or expired token.

        A verified token is remembered until its expiry (bounded), so a client's every request
        does not pay for the signature check again.
        """
        known = self._verified.get(token)
        if known is not None and known[0] > time.time():
            return known[1]
        subject, expires = self._decode(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (expires, subject)
        return subject

    def _decode(self, token: str) -> tuple[str, float]:
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]}
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("Token has expired", code="TOKEN_EXPIRED") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("Invalid token", code="INVALID_TOKEN") from exc
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthorized("Invalid token", code="INVALID_TOKEN")
        return subject, float(claims["exp"])

    def is_service_key(self, candidate: str | None) -> bool:
        """Constant-time check; an empty `SERVICE_API_KEY` disables the key entirely."""
        if not self._service_key or not candidate:
            return False
        return hmac.compare_digest(candidate.encode(), self._service_key.encode())
