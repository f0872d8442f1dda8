"""The one place that maps exceptions to the SPEC §5 envelope, for HTTP and WebSocket alike."""

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import DATABASE_ERRORS, AppError, RateLimited, as_app_error
from app.metrics import RATE_LIMITED
from app.utils.logger import request_id_var

logger = logging.getLogger(__name__)

HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}


def envelope(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(error: AppError) -> JSONResponse:
    headers = {}
    if isinstance(error, RateLimited):
        RATE_LIMITED.inc()
        headers["Retry-After"] = str(error.retry_after)
    if error.http_status == 503:
        headers["Retry-After"] = "5"
    return JSONResponse(
        envelope(error.code, error.message, error.details),
        status_code=error.http_status,
        headers=headers,
    )


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _on_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            envelope("VALIDATION_ERROR", "Request validation failed", _validation_details(exc)),
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        return JSONResponse(
            envelope(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    for known in (AppError, *DATABASE_ERRORS):
        app.add_exception_handler(known, _on_known)


async def _on_known(request: Request, exc: Exception) -> JSONResponse:
    """Domain errors and an unreachable database; anything else reaches `internal_error`."""
    error = as_app_error(exc)
    if error is None:
        raise exc
    if error.http_status >= 500:
        method = getattr(request, "method", "WEBSOCKET")
        logger.warning("%s %s: %s", method, request.url.path, error.code)
    return error_response(error)


def internal_error_body() -> bytes:
    """The 500 envelope: no detail of the fault, only the request id to quote."""
    return orjson.dumps(
        envelope("INTERNAL_ERROR", "Internal server error", {"request_id": request_id_var.get()})
    )
