"""An unexpected fault is a 500 envelope carrying the request id, logged with its traceback,
never shown to the client."""

import logging

import httpx
import pytest
from fastapi import FastAPI


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
    assert "secret internal detail" in str(record.exc_info[1])
    assert getattr(record, "request_id", None) == "abc123"
