"""An unexpected fault is a 500 envelope carrying the request id, logged with its traceback,
never shown to the client; only a database that cannot be reached is a 503."""

import logging
import sqlite3
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from app.errors import as_app_error, is_unavailable


async def test_unexpected_exception_is_a_500_with_the_request_id(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> None:
        raise RuntimeError("secret internal detail")

    app.add_api_route("/api/test-broken", broken)
    with caplog.at_level(logging.ERROR, logger="app.access"):
        response = await client.get("/api/test-broken", headers={"X-Request-ID": "abc123"})

    assert response.status_code == 500
    body = response.json()
    assert body["error"]["code"] == "INTERNAL_ERROR"
    assert body["error"]["details"] == {"request_id": "abc123"}
    assert response.headers["x-request-id"] == "abc123"
    assert "secret internal detail" not in response.text
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.exc_info is not None
    assert "secret internal detail" in str(record.exc_info[1])
    assert getattr(record, "request_id", None) == "abc123"


async def test_a_request_id_that_is_not_ascii_gets_a_fresh_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Before the fix a header that is not UTF-8 crashed the middleware into a plain-text 500."""
    for incoming in (b"\xff\xfe\xfd", "订单-1".encode(), b"a" * 65, b"has space"):
        response = await client.get("/api/user/me", headers={b"X-Request-ID": incoming})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"
        fresh = response.headers["x-request-id"]
        assert fresh.isalnum() and fresh.encode() != incoming


class PostgresError(Exception):
    """What a PostgreSQL driver error carries for us: its SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _statement_error(orig: Exception) -> Exception:
    return OperationalError("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    ("raised", "status", "code"),
    [
        (_statement_error(sqlite3.OperationalError("no such table: nope")), 500, "INTERNAL_ERROR"),
        (TimeoutError(), 500, "INTERNAL_ERROR"),
        (_statement_error(ConnectionRefusedError(111, "refused")), 503, "DATABASE_UNAVAILABLE"),
        (_statement_error(Exception(1213, "Deadlock found")), 503, "DATABASE_UNAVAILABLE"),
        (_statement_error(PostgresError("40P01")), 503, "DATABASE_UNAVAILABLE"),
        (_statement_error(PostgresError("42P01")), 500, "INTERNAL_ERROR"),
        (ConnectionRefusedError(111, "refused"), 503, "DATABASE_UNAVAILABLE"),
    ],
)
async def test_only_connection_failures_are_503(
    app: FastAPI, client: httpx.AsyncClient, raised: Exception, status: int, code: str
) -> None:
    """Before the fix any OperationalError or TimeoutError, programming errors included, was
    reported as a database outage."""

    async def failing() -> None:
        raise raised

    app.add_api_route("/api/test-failing", failing)
    response = await client.get("/api/test-failing")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


async def test_a_database_that_cannot_be_opened_is_503(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/im.db")
    try:
        with pytest.raises(OperationalError) as caught:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    assert is_unavailable(caught.value)
    error = as_app_error(caught.value)
    assert error is not None and error.http_status == 503
