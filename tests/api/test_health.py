"""`/health`, `/metrics`, the error envelope for unknown routes, and test isolation."""

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from app.config import Settings
from app.main import create_app
from tests.factories import create_user


async def test_health_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["broker"] == "ok"
    assert body["version"]
    assert response.headers["x-request-id"]


async def test_unreachable_database_gives_degraded_health_and_503_envelopes(
    settings: Settings,
) -> None:
    """A server whose database cannot be reached answers, quickly, with the envelope."""
    broken = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://nobody@127.0.0.1:1/none"}
    )
    application = create_app(broken)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            health = await http.get("/health")
            signup = await http.post(
                "/api/user/create", json={"username": "x", "user_role": "PATIENT"}
            )
    assert health.status_code == 503
    assert health.json()["status"] == "degraded" and health.json()["database"] == "down"
    assert signup.status_code == 503
    assert signup.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
    assert "Traceback" not in signup.text


async def test_unknown_route_uses_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_metrics_exposes_counters(client: httpx.AsyncClient) -> None:
    await client.get("/health")
    text = (await client.get("/metrics")).text
    assert "im_http_request_seconds" in text
    assert "im_ws_connections" in text


async def test_rows_from_the_previous_test_are_gone_part_one(client: httpx.AsyncClient) -> None:
    await create_user(client, "PATIENT", name="leak-probe")
    assert (await client.get("/health")).status_code == 200


async def test_rows_from_the_previous_test_are_gone_part_two(app: FastAPI) -> None:
    async with app.state.server.core.db.read() as session:
        count = (
            await session.execute(text("SELECT count(*) FROM users WHERE username = 'leak-probe'"))
        ).scalar_one()
    assert count == 0
