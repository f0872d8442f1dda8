"""OpenAPI descriptions of the error envelope, so `/docs` shows what each route can answer."""

from typing import Any

from app.schemas.common import ErrorResponse

DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing, invalid or expired credentials",
    403: "Not allowed for this caller",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    416: "Range not satisfiable",
    422: "Validation error",
    429: "Rate limited (see Retry-After)",
    500: "Unexpected server error (the body carries the request id)",
    503: "A dependency is unavailable",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorResponse, "description": DESCRIPTIONS[code]} for code in codes}
