"""Tokens (SPEC §4): issuing with the service key, and every way a bearer token is refused."""

from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest

from app.config import Settings
from app.db.base import utcnow
from tests.factories import SERVICE_HEADERS, assert_error, consultation, create_user


def make_token(
    settings: Settings,
    sub: Any = None,
    *,
    lifetime: timedelta = timedelta(minutes=5),
    key: str | None = None,
    algorithm: str = "HS256",
    **claims: Any,
) -> str:
    now = utcnow()
    payload = {"sub": sub, "iat": now, "exp": now + lifetime, **claims}
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key or settings.jwt_secret, algorithm=algorithm)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_issue_token_with_the_service_key(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user = await create_user(client, "DOCTOR")
    response = await client.post(
        "/api/auth/token", json={"user_id": user.user_id}, headers=SERVICE_HEADERS
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_expire_minutes * 60
    claims = jwt.decode(body["access_token"], settings.jwt_secret, algorithms=["HS256"])
    assert claims["sub"] == user.user_id
    me = await client.get("/api/user/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["user_id"] == user.user_id


async def test_issue_token_needs_a_valid_service_key(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    body = {"user_id": user.user_id}
    assert_error(await client.post("/api/auth/token", json=body), 401, "SERVICE_KEY_REQUIRED")
    assert_error(
        await client.post("/api/auth/token", json=body, headers={"X-API-Key": "guess"}),
        401,
        "INVALID_API_KEY",
    )
    # A user's own bearer token is not the service key.
    assert_error(await client.post("/api/auth/token", json=body, headers=user.headers), 401)


async def test_issue_token_for_unknown_user_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/token", json={"user_id": "user_ghost"}, headers=SERVICE_HEADERS
    )
    assert_error(response, 404, "USER_NOT_FOUND")


@pytest.mark.parametrize("body", [{}, {"user_id": ""}, {"user_id": "u", "role": "DOCTOR"}])
async def test_issue_token_validation(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/api/auth/token", json=body, headers=SERVICE_HEADERS)
    assert_error(response, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("settings_overrides", [{"access_token_expire_minutes": 7}], indirect=True)
async def test_token_lifetime_is_configurable(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.post("/api/user/create", json={"username": "x", "user_role": "PATIENT"})
    claims = jwt.decode(response.json()["access_token"], settings.jwt_secret, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 7 * 60


async def test_forged_token_is_401(client: httpx.AsyncClient, settings: Settings) -> None:
    user = await create_user(client)
    forged = make_token(settings, user.user_id, key="another-key-of-an-attacker-0123456789ab")
    error = assert_error(await client.get("/api/user/me", headers=bearer(forged)), 401)
    assert error["code"] == "INVALID_TOKEN"


async def test_expired_token_is_401(client: httpx.AsyncClient, settings: Settings) -> None:
    user = await create_user(client)
    expired = make_token(settings, user.user_id, lifetime=timedelta(seconds=-30))
    assert_error(await client.get("/api/user/me", headers=bearer(expired)), 401, "TOKEN_EXPIRED")


async def test_token_of_a_user_that_no_longer_exists_is_401(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    ghost = make_token(settings, "user_deleted_long_ago")
    error = assert_error(await client.get("/api/user/me", headers=bearer(ghost)), 401)
    assert error["code"] == "INVALID_TOKEN"


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": None},
        {"sub": ""},
        {"sub": 12345},
        {"exp": None},
    ],
    ids=["no-sub", "empty-sub", "numeric-sub", "no-exp"],
)
async def test_tokens_missing_required_claims_are_401(
    client: httpx.AsyncClient, settings: Settings, claims: dict[str, Any]
) -> None:
    await create_user(client)
    token = make_token(settings, **{"sub": "user_x", **claims})
    assert_error(await client.get("/api/user/me", headers=bearer(token)), 401, "INVALID_TOKEN")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_unsigned_and_other_algorithm_tokens_are_401(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user = await create_user(client)
    unsigned = jwt.encode(
        {"sub": user.user_id, "exp": utcnow() + timedelta(minutes=5)}, "", algorithm="none"
    )
    hs512 = make_token(settings, user.user_id, algorithm="HS512")
    for token in (unsigned, hs512):
        assert_error(await client.get("/api/user/me", headers=bearer(token)), 401)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Token abc",
        "Basic dXNlcjpwYXNz",
        "bearer",
        "",
    ],
)
async def test_malformed_authorization_header_is_401(
    client: httpx.AsyncClient, header: str
) -> None:
    await create_user(client)
    response = await client.get("/api/user/me", headers={"Authorization": header})
    assert_error(response, 401)


async def test_token_is_taken_from_header_not_query(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    response = await client.get("/api/user/me", params={"token": user.token})
    assert_error(response, 401, "NOT_AUTHENTICATED")


PROTECTED = [
    ("GET", "/api/user/me", None),
    ("GET", "/api/user/user_x", None),
    ("POST", "/api/group/create", {"group_name": "g"}),
    ("GET", "/api/group/list", None),
    ("GET", "/api/group/{group}", None),
    ("PATCH", "/api/group/{group}", {"ai_enabled": False}),
    ("POST", "/api/group/{group}/members", {"user_id": "user_x"}),
    ("GET", "/api/group/{group}/members", None),
    ("DELETE", "/api/group/{group}/members/{patient}", None),
    ("POST", "/api/message/send", {"group_id": "{group}", "content": "hi"}),
    ("GET", "/api/message/list?group_id={group}", None),
    ("GET", "/api/message/msg_x", None),
    ("POST", "/api/message/read", {"group_id": "{group}", "seq": 0}),
]


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
async def test_every_protected_route_refuses_bad_credentials(
    client: httpx.AsyncClient,
    settings: Settings,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    """No token, a forged one, an expired one: 401 with the envelope, and nothing happens."""
    room = await consultation(client)
    fill = {"group": room.group_id, "patient": room.patient.user_id}
    url = path.format(**fill)
    payload = {k: v.format(**fill) if isinstance(v, str) else v for k, v in (body or {}).items()}
    credentials = {
        "none": {},
        "forged": bearer(make_token(settings, room.doctor.user_id, key="x" * 40)),
        "expired": bearer(
            make_token(settings, room.doctor.user_id, lifetime=timedelta(seconds=-1))
        ),
    }
    expected = {"none": "NOT_AUTHENTICATED", "forged": "INVALID_TOKEN", "expired": "TOKEN_EXPIRED"}
    for name, headers in credentials.items():
        response = await client.request(method, url, json=body and payload, headers=headers)
        assert_error(response, 401, expected[name])
    members = await client.get(f"/api/group/{room.group_id}/members", headers=room.doctor.headers)
    assert {m["user_id"] for m in members.json()} == {room.doctor.user_id, room.patient.user_id}
    history = await client.get(
        "/api/message/list", params={"group_id": room.group_id}, headers=room.doctor.headers
    )
    assert history.json()["total"] == 1


async def test_acting_user_comes_from_the_token_not_the_body(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    outsider = await create_user(client, "DOCTOR")
    response = await client.post(
        "/api/message/send",
        json={"group_id": room.group_id, "content": "hi", "from_user_id": room.doctor.user_id},
        headers=outsider.headers,
    )
    assert_error(response, 422, "VALIDATION_ERROR")
    sent = await client.post(
        "/api/message/send",
        json={"group_id": room.group_id, "content": "hi"},
        headers=room.patient.headers,
    )
    assert sent.json()["from_user_id"] == room.patient.user_id
