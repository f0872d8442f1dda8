"""Domain errors with stable codes, mapped to the SPEC §5 envelope by `app/api/errors.py`.

AppError(code, message, http_status, details)
├── InvalidInput          400 / 413 / 422
├── Unauthorized          401
├── PermissionDenied      403
├── NotFound              404
├── Conflict              409
├── RateLimited           429 (carries retry_after seconds)
└── UpstreamUnavailable   503
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


class AppError(Exception):
    http_status = 500
    default_code = "INTERNAL_ERROR"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.message = message
        self.details = details
        if http_status is not None:
            self.http_status = http_status


class InvalidInput(AppError):
    http_status = 422
    default_code = "VALIDATION_ERROR"


class Unauthorized(AppError):
    http_status = 401
    default_code = "UNAUTHORIZED"


class PermissionDenied(AppError):
    http_status = 403
    default_code = "FORBIDDEN"


class NotFound(AppError):
    http_status = 404
    default_code = "NOT_FOUND"


class Conflict(AppError):
    http_status = 409
    default_code = "CONFLICT"


class RateLimited(AppError):
    http_status = 429
    default_code = "RATE_LIMITED"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many messages; retry in {retry_after} s", details={"retry_after": retry_after}
        )
        self.retry_after = retry_after


class UpstreamUnavailable(AppError):
    http_status = 503
    default_code = "SERVICE_UNAVAILABLE"


UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout, ConnectionError, TimeoutError)


def as_app_error(exc: BaseException) -> AppError | None:
    """The domain error for `exc`, or None if it is an unexpected fault (a 500)."""
    if isinstance(exc, AppError):
        return exc
    if isinstance(exc, DataError):
        return InvalidInput(
            "A value is out of range or has invalid characters", code="INVALID_VALUE"
        )
    if isinstance(exc, UNAVAILABLE) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return UpstreamUnavailable(
            "The database is unavailable; retry shortly", code="DATABASE_UNAVAILABLE"
        )
    return None
