"""Access tokens (JWT: `sub` = user_id, `sid` = session id, short-lived) and the service key.

Tokens issued before sessions existed carry no `sid`: they are refused (they expired within a
day of the release anyway), so every accepted token belongs to a session that can be revoked.
"""

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
class Claims:
    user_id: str
    session_id: str


class TokenService:
    def __init__(self, settings: Settings) -> None:
        self._secret = settings.jwt_secret
        self.lifetime = timedelta(minutes=settings.access_token_expire_minutes)
        self._service_key = settings.service_api_key.get_secret_value()
        self._verified: dict[str, tuple[float, Claims]] = {}

    def issue(self, user_id: str, session_id: str) -> str:
        now = utcnow()
        claims = {
            "sub": user_id,
            "sid": session_id,
            "iat": now,
            "exp": now + self.lifetime,
            "typ": "access",
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    @property
    def expires_in(self) -> int:
        return int(self.lifetime.total_seconds())

    def verify(self, token: str) -> Claims:
        """The token's user and session; raises `Unauthorized` for a bad, forged or expired
        token, or one without a session.

        A verified token is remembered until its expiry (bounded), so a client's every request
        does not pay for the signature check again. Whether its session is still open is the
        session service's question.
        """
        known = self._verified.get(token)
        if known is not None and known[0] > time.time():
            return known[1]
        claims, expires = self._decode(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (expires, claims)
        return claims

    def _decode(self, token: str) -> tuple[Claims, float]:
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]}
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("Token has expired", code="TOKEN_EXPIRED") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("Invalid token", code="INVALID_TOKEN") from exc
        subject, session_id = claims.get("sub"), claims.get("sid")
        if not isinstance(subject, str) or not subject:
            raise Unauthorized("Invalid token", code="INVALID_TOKEN")
        if not isinstance(session_id, str) or not session_id:
            raise Unauthorized("Token has no session; sign in again", code="INVALID_TOKEN")
        return Claims(subject, session_id), float(claims["exp"])

    def is_service_key(self, candidate: str | None) -> bool:
        """Constant-time check; an empty `SERVICE_API_KEY` disables the key entirely."""
        if not self._service_key or not candidate:
            return False
        return hmac.compare_digest(candidate.encode(), self._service_key.encode())
