"""Domain errors with stable codes, mapped to the SPEC §5 envelope by `app/api/errors.py`.

AppError(code, message, http_status, details)
├── InvalidInput          400 / 413 / 422
├── Unauthorized          401
├── PermissionDenied      403
├── NotFound              404
├── Conflict              409
├── RateLimited           429 (carries retry_after seconds)
├── UnsupportedMediaType  415 (an upload's sniffed type is not accepted)
├── RangeNotSatisfiable   416 (a download's Range lies outside the file)
└── UpstreamUnavailable   503
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DataError, DBAPIError, InterfaceError
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

    def __init__(self, retry_after: int, what: str = "messages") -> None:
        super().__init__(
            f"Too many {what}; retry in {retry_after} s", details={"retry_after": retry_after}
        )
        self.retry_after = retry_after


class UpstreamUnavailable(AppError):
    http_status = 503
    default_code = "SERVICE_UNAVAILABLE"


class UnsupportedMediaType(AppError):
    http_status = 415
    default_code = "UNSUPPORTED_MEDIA_TYPE"


class RangeNotSatisfiable(AppError):
    http_status = 416
    default_code = "RANGE_NOT_SATISFIABLE"


DATABASE_ERRORS = (DBAPIError, PoolTimeout, ConnectionError)
"""What the database layer raises: mapped by `as_app_error` to 422, 503 or (a fault) nothing."""

_CONNECTION_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300", "40P01", "40001"})
"""PostgreSQL: admin/crash shutdown, cannot connect now, too many connections, a deadlock, a
serialization failure (and class 08, connection exceptions)."""
_CONNECTION_SQLITE_ERRORS = frozenset(
    {"SQLITE_CANTOPEN", "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_FULL"}
)
_CONNECTION_MYSQL_ERRORS = frozenset({1040, 1053, 1205, 1213, 2002, 2003, 2006, 2013})
"""Too many connections, shutdown in progress, lock wait timeout, deadlock, can't connect, gone
away, lost connection."""


def is_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached or cannot take the work now (a lost connection, too many
    clients, a deadlock or lock timeout: worth a retry later), as opposed to a fault in the
    statement or the code."""
    if isinstance(exc, InterfaceError | PoolTimeout | ConnectionError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, OSError):
        return True
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(sqlstate, str) and (
        sqlstate.startswith("08") or sqlstate in _CONNECTION_SQLSTATES
    ):
        return True
    if getattr(orig, "sqlite_errorname", None) in _CONNECTION_SQLITE_ERRORS:
        return True
    code = orig.args[0] if orig is not None and orig.args else None
    return isinstance(code, int) and code in _CONNECTION_MYSQL_ERRORS


def as_app_error(exc: BaseException) -> AppError | None:
    """The domain error for `exc`, or None if it is an unexpected fault (a 500)."""
    if isinstance(exc, AppError):
        return exc
    if isinstance(exc, DataError):
        return InvalidInput(
            "A value is out of range or has invalid characters", code="INVALID_VALUE"
        )
    if is_unavailable(exc):
        return UpstreamUnavailable(
            "The database is unavailable; retry shortly", code="DATABASE_UNAVAILABLE"
        )
    return None
