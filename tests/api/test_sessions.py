"""Sessions (SPEC §10): refresh rotation and theft detection, logout, listing and ending
sessions, access-token expiry followed by a refresh, and tokens without a session."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app.config import Settings
from app.db.base import utcnow
from app.models import RefreshToken
from tests.api.test_auth import bearer, make_token
from tests.factories import SERVICE_HEADERS, TestUser, assert_error, create_user


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/auth/refresh", json={"refresh_token": token})


async def test_sign_up_opens_a_session_with_a_short_lived_token(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user = await create_user(client)
    claims = jwt.decode(user.token, settings.jwt_secret, algorithms=["HS256"])
    assert claims["sid"].startswith("sess_")
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert len(user.refresh_token) >= 43  # 256 random bits
    sessions = (await client.get("/api/auth/sessions", headers=user.headers)).json()
    assert [s["session_id"] for s in sessions] == [claims["sid"]]
    assert set(sessions[0]) == {"session_id", "created_at", "last_used_at", "user_agent", "current"}
    assert sessions[0]["current"] is True
    assert sessions[0]["user_agent"].startswith("python-httpx")


async def test_refresh_rotates_and_reuse_revokes_the_session(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    first = await refresh(client, user.refresh_token)
    assert first.status_code == 200, first.text
    pair = first.json()
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert pair["refresh_token"] != user.refresh_token
    new_headers = bearer(pair["access_token"])
    assert (await client.get("/api/user/me", headers=new_headers)).status_code == 200

    # The rotated-out token again: theft. The whole session ends, new tokens included.
    assert_error(await refresh(client, user.refresh_token), 401, "INVALID_REFRESH_TOKEN")
    assert_error(await client.get("/api/user/me", headers=new_headers), 401, "SESSION_REVOKED")
    assert_error(await client.get("/api/user/me", headers=user.headers), 401, "SESSION_REVOKED")
    assert_error(await refresh(client, pair["refresh_token"]), 401, "INVALID_REFRESH_TOKEN")


async def test_two_refreshes_racing_with_one_token_end_the_session(
    client: httpx.AsyncClient,
) -> None:
    user = await create_user(client)
    answers = await asyncio.gather(*(refresh(client, user.refresh_token) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 401]
    winner = next(a for a in answers if a.status_code == 200).json()
    assert_error(await client.get("/api/user/me", headers=bearer(winner["access_token"])), 401)


@pytest.mark.parametrize("token", ["unknown-token", "x" * 200], ids=["unknown", "long"])
async def test_unknown_refresh_tokens_are_401(client: httpx.AsyncClient, token: str) -> None:
    assert_error(await refresh(client, token), 401, "INVALID_REFRESH_TOKEN")


@pytest.mark.parametrize("body", [{}, {"refresh_token": ""}, {"refresh_token": "x" * 201}])
async def test_refresh_validation(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    assert_error(await client.post("/api/auth/refresh", json=body), 422)


async def test_an_expired_refresh_token_is_401_without_ending_the_session(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    user = await create_user(client)
    async with app.state.server.core.db.write() as session, session.begin():
        await session.execute(
            update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert_error(await refresh(client, user.refresh_token), 401, "INVALID_REFRESH_TOKEN")
    assert (await client.get("/api/user/me", headers=user.headers)).status_code == 200


async def test_an_expired_access_token_is_renewed_with_the_refresh_token(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user = await create_user(client)
    sid = jwt.decode(user.token, settings.jwt_secret, algorithms=["HS256"])["sid"]
    expired = make_token(settings, user.user_id, lifetime=timedelta(seconds=-1), sid=sid)
    assert_error(await client.get("/api/user/me", headers=bearer(expired)), 401, "TOKEN_EXPIRED")
    renewed = await refresh(client, user.refresh_token)
    assert renewed.status_code == 200
    me = await client.get("/api/user/me", headers=bearer(renewed.json()["access_token"]))
    assert me.json()["user_id"] == user.user_id


async def test_tokens_without_a_session_are_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Tokens of the previous release (no `sid`), or naming a session that does not exist."""
    user = await create_user(client)
    for token in (
        make_token(settings, user.user_id),
        make_token(settings, user.user_id, sid="sess_never_opened"),
    ):
        assert_error(await client.get("/api/user/me", headers=bearer(token)), 401)


async def test_a_session_id_belongs_to_its_user(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    victim = await create_user(client)
    intruder = await create_user(client)
    sid = jwt.decode(victim.token, settings.jwt_secret, algorithms=["HS256"])["sid"]
    forged = make_token(settings, intruder.user_id, sid=sid)
    assert_error(await client.get("/api/user/me", headers=bearer(forged)), 401, "SESSION_REVOKED")


async def second_device(client: httpx.AsyncClient, user: TestUser) -> dict[str, str]:
    response = await client.post(
        "/api/auth/token",
        json={"user_id": user.user_id},
        headers={**SERVICE_HEADERS, "User-Agent": "second device"},
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"access_token", "refresh_token", "token_type", "expires_in"}
    return bearer(response.json()["access_token"])


async def test_logout_ends_only_this_session(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    other = await second_device(client, user)
    response = await client.post("/api/auth/logout", headers=user.headers)
    assert response.status_code == 204
    assert_error(await client.get("/api/user/me", headers=user.headers), 401, "SESSION_REVOKED")
    assert_error(await refresh(client, user.refresh_token), 401, "INVALID_REFRESH_TOKEN")
    assert (await client.get("/api/user/me", headers=other)).status_code == 200
    assert_error(await client.post("/api/auth/logout"), 401)


async def test_list_and_end_my_sessions(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    other = await second_device(client, user)
    stranger = await create_user(client)
    sessions = (await client.get("/api/auth/sessions", headers=user.headers)).json()
    assert len(sessions) == 2
    theirs = next(s for s in sessions if not s["current"])
    assert theirs["user_agent"] == "second device"

    assert_error(
        await client.delete(f"/api/auth/sessions/{theirs['session_id']}", headers=stranger.headers),
        404,
        "SESSION_NOT_FOUND",
    )
    assert (await client.get("/api/user/me", headers=other)).status_code == 200
    ended = await client.delete(f"/api/auth/sessions/{theirs['session_id']}", headers=user.headers)
    assert ended.status_code == 204
    assert_error(await client.get("/api/user/me", headers=other), 401, "SESSION_REVOKED")
    remaining = (await client.get("/api/auth/sessions", headers=user.headers)).json()
    assert [s["current"] for s in remaining] == [True]
    assert_error(await client.delete("/api/auth/sessions/sess_unknown", headers=user.headers), 404)
