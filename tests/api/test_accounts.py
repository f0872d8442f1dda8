"""Accounts (SPEC §10): sign-up with login and password, login and its failures, throttling,
profile and password changes, help-desk reset codes, and secrets kept out of logs and answers."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from app.db.base import utcnow
from app.models import PasswordResetCode, User
from app.services.core.login_throttle import WINDOW_SECONDS
from tests.factories import SERVICE_HEADERS, TestUser, assert_error, create_user, unique_login

PASSWORD = "correct horse battery"


async def login(client: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    return await client.post("/api/auth/login", json={"login": name, "password": password})


async def account(client: httpx.AsyncClient, role: str = "PATIENT") -> tuple[TestUser, str]:
    name = unique_login()
    return await create_user(client, role, login=name, password=PASSWORD), name


async def test_sign_up_with_a_password_then_log_in_elsewhere(client: httpx.AsyncClient) -> None:
    user, name = await account(client)
    response = await login(client, name.upper(), PASSWORD)  # logins are lower-cased
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"user", "access_token", "refresh_token", "token_type", "expires_in"}
    assert body["user"]["user_id"] == user.user_id
    assert "login" not in body["user"] and "password_hash" not in body["user"]
    assert (body["token_type"], body["expires_in"]) == ("bearer", 15 * 60)
    assert body["access_token"] != user.token and body["refresh_token"] != user.refresh_token
    me = await client.get(
        "/api/user/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["user_id"] == user.user_id
    # Both devices hold a session of their own.
    sessions = await client.get("/api/auth/sessions", headers=user.headers)
    assert len(sessions.json()) == 2


@pytest.mark.parametrize(
    "credentials",
    [
        {"login": "nobody_here", "password": PASSWORD},
        {"login": "{login}", "password": "wrong password"},
    ],
    ids=["unknown-login", "wrong-password"],
)
async def test_wrong_login_or_password_get_one_answer(
    client: httpx.AsyncClient, credentials: dict[str, str]
) -> None:
    _, name = await account(client)
    body = {key: value.format(login=name) for key, value in credentials.items()}
    error = assert_error(
        await client.post("/api/auth/login", json=body), 401, "INVALID_CREDENTIALS"
    )
    assert error["message"] == "Wrong login or password"


async def test_a_user_without_a_password_cannot_log_in(client: httpx.AsyncClient) -> None:
    provisioned = await create_user(client)  # no login, no password
    assert_error(await login(client, provisioned.user_id.lower()[:32], PASSWORD), 401)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"login": "somebody"},
        {"password": PASSWORD},
        {"login": "somebody", "password": PASSWORD, "extra": 1},
        {"login": "x" * 33, "password": PASSWORD},
        {"login": "ab", "password": PASSWORD},
        {"login": "zhāng", "password": PASSWORD},
        {"login": "名字名字", "password": PASSWORD},
        {"login": "with space", "password": PASSWORD},
        {"login": "somebody", "password": "short"},
        {"login": "somebody", "password": "p" * 129},
    ],
    ids=[
        "empty",
        "no-password",
        "no-login",
        "unknown-field",
        "long-login",
        "short-login",
        "non-ascii-login",
        "cjk-login",
        "space-in-login",
        "short-password",
        "long-password",
    ],
)
async def test_login_validation(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    assert_error(await client.post("/api/auth/login", json=body), 422, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "extra",
    [
        {"login": "only_login"},
        {"password": PASSWORD},
        {"login": "x" * 33, "password": PASSWORD},
        {"login": "ünïcode", "password": PASSWORD},
        {"login": "fine_login", "password": "1234567"},
        {"login": "fine_login", "password": "p" * 129},
    ],
    ids=["login-alone", "password-alone", "long", "non-ascii", "short-pw", "long-pw"],
)
async def test_sign_up_validation(client: httpx.AsyncClient, extra: dict[str, Any]) -> None:
    response = await client.post(
        "/api/user/create", json={"username": "u", "user_role": "PATIENT", **extra}
    )
    assert_error(response, 422, "VALIDATION_ERROR")


async def test_passwords_of_8_and_128_characters_are_accepted(client: httpx.AsyncClient) -> None:
    for password in ("p" * 8, "p" * 128):
        name = unique_login()
        await create_user(client, login=name, password=password)
        assert (await login(client, name, password)).status_code == 200


async def test_a_taken_login_is_409_whatever_its_case(client: httpx.AsyncClient) -> None:
    _, name = await account(client)
    response = await client.post(
        "/api/user/create",
        json={"username": "x", "user_role": "PATIENT", "login": name.upper(), "password": PASSWORD},
    )
    assert_error(response, 409, "LOGIN_TAKEN")


async def test_throttling_per_login_with_retry_after_and_reset_on_success(
    client: httpx.AsyncClient,
) -> None:
    _, name = await account(client)
    for _ in range(4):
        assert_error(await login(client, name, "wrong password"), 401)
    # A success resets the login's count: five more failures are allowed.
    assert (await login(client, name, PASSWORD)).status_code == 200
    for _ in range(5):
        assert_error(await login(client, name, "wrong password"), 401)
    refused = await login(client, name, PASSWORD)  # even the right password, now
    assert_error(refused, 429, "RATE_LIMITED")
    assert 0 < int(refused.headers["Retry-After"]) <= WINDOW_SECONDS
    # Another login from the same client is not affected.
    _, other = await account(client)
    assert (await login(client, other, PASSWORD)).status_code == 200


async def test_throttling_per_client_ip(client: httpx.AsyncClient) -> None:
    names = [unique_login("ip") for _ in range(10)]
    for name in names:  # 10 logins, 5 failures each: = 50 from this client's address
        for _ in range(5):
            assert_error(await login(client, name, "wrong password"), 401)
    _, fresh = await account(client)
    refused = await login(client, fresh, PASSWORD)
    assert_error(refused, 429, "RATE_LIMITED")
    assert int(refused.headers["Retry-After"]) > 0


async def test_patch_me_changes_the_display_name(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    response = await client.patch("/api/user/me", json={"username": "Li Si"}, headers=user.headers)
    assert response.status_code == 200, response.text
    assert response.json()["username"] == "Li Si"
    assert (await client.get("/api/user/me", headers=user.headers)).json()["username"] == "Li Si"
    for body in ({"username": ""}, {"username": "x" * 65}, {"user_role": "DOCTOR"}):
        assert_error(await client.patch("/api/user/me", json=body, headers=user.headers), 422)
    assert_error(
        await client.patch("/api/user/me", json={"username": None}, headers=user.headers), 422
    )
    unchanged = await client.patch("/api/user/me", json={}, headers=user.headers)
    assert unchanged.status_code == 200, unchanged.text
    assert unchanged.json()["username"] == "Li Si"


async def test_password_change_ends_every_other_session(client: httpx.AsyncClient) -> None:
    phone, name = await account(client)
    laptop_body = (await login(client, name, PASSWORD)).json()
    laptop = {"Authorization": f"Bearer {laptop_body['access_token']}"}
    new_password = "a brand new secret"

    wrong = await client.put(
        "/api/user/me/password",
        json={"current_password": "not it at all", "new_password": new_password},
        headers=phone.headers,
    )
    assert_error(wrong, 403, "WRONG_PASSWORD")
    short = await client.put(
        "/api/user/me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=phone.headers,
    )
    assert_error(short, 422)

    changed = await client.put(
        "/api/user/me/password",
        json={"current_password": PASSWORD, "new_password": new_password},
        headers=phone.headers,
    )
    assert changed.status_code == 204, changed.text
    assert (await client.get("/api/user/me", headers=phone.headers)).status_code == 200
    assert_error(await client.get("/api/user/me", headers=laptop), 401, "SESSION_REVOKED")
    assert_error(
        await client.post(
            "/api/auth/refresh", json={"refresh_token": laptop_body["refresh_token"]}
        ),
        401,
    )
    assert_error(await login(client, name, PASSWORD), 401, "INVALID_CREDENTIALS")
    assert (await login(client, name, new_password)).status_code == 200


async def reset_code(client: httpx.AsyncClient, user_id: str) -> dict[str, Any]:
    response = await client.post(f"/api/user/{user_id}/password-reset", headers=SERVICE_HEADERS)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_reset_codes_are_single_use_and_end_every_session(client: httpx.AsyncClient) -> None:
    user, name = await account(client)
    issued = await reset_code(client, user.user_id)
    assert set(issued) == {"code", "expires_at"}
    reset = {"code": issued["code"].lower(), "new_password": "reset by the desk"}
    assert (await client.post("/api/auth/reset", json=reset)).status_code == 204
    assert_error(await client.get("/api/user/me", headers=user.headers), 401, "SESSION_REVOKED")
    assert (await login(client, name, "reset by the desk")).status_code == 200
    again = {"code": issued["code"], "new_password": "another one again"}
    assert_error(await client.post("/api/auth/reset", json=again), 400, "INVALID_CODE")
    unknown = {"code": "A" * 26, "new_password": "another one again"}
    assert_error(await client.post("/api/auth/reset", json=unknown), 400, "INVALID_CODE")
    assert_error(
        await client.post("/api/auth/reset", json={"code": "A" * 26, "new_password": "x"}), 422
    )


async def test_an_expired_reset_code_is_refused(client: httpx.AsyncClient, app: Any) -> None:
    user, _ = await account(client)
    issued = await reset_code(client, user.user_id)
    async with app.state.server.core.db.write() as session, session.begin():
        await session.execute(
            update(PasswordResetCode).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    body = {"code": issued["code"], "new_password": "too late for this"}
    assert_error(await client.post("/api/auth/reset", json=body), 400, "INVALID_CODE")


async def test_reset_codes_need_the_service_key(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    response = await client.post(f"/api/user/{user.user_id}/password-reset", headers=user.headers)
    assert_error(response, 403, "SERVICE_KEY_REQUIRED")
    assert_error(await client.post(f"/api/user/{user.user_id}/password-reset"), 401)
    ghost = await client.post("/api/user/user_ghost/password-reset", headers=SERVICE_HEADERS)
    assert_error(ghost, 404, "USER_NOT_FOUND")


async def test_passwords_and_refresh_tokens_never_reach_logs_or_answers(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user, name = await account(client)
    logged_in = (await login(client, name, PASSWORD)).json()
    await login(client, name, "a wrong guess!")
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": logged_in["refresh_token"]}
    )
    await client.post("/api/auth/refresh", json={"refresh_token": logged_in["refresh_token"]})
    issued = await reset_code(client, user.user_id)
    await client.post(
        "/api/auth/reset", json={"code": issued["code"], "new_password": "the desk said so"}
    )
    answers = [
        (await client.get("/api/user/me", headers=user.headers)).text,
        (await client.get(f"/api/user/{user.user_id}", headers=user.headers)).text,
    ]
    secrets = [
        PASSWORD,
        "a wrong guess!",
        "the desk said so",
        user.refresh_token,
        logged_in["refresh_token"],
        refreshed.json()["refresh_token"],
    ]
    text = caplog.text + "".join(answers)
    assert caplog.records  # the flows did log
    for secret in secrets:
        assert secret not in text
    assert "$argon2" not in text


async def test_a_hash_with_old_parameters_is_upgraded_at_login(
    client: httpx.AsyncClient, app: Any
) -> None:
    user, name = await account(client)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    db = app.state.server.core.db
    async with db.write() as session, session.begin():
        await session.execute(
            update(User).where(User.user_id == user.user_id).values(password_hash=weak)
        )
    assert (await login(client, name, PASSWORD)).status_code == 200
    async with db.read() as session:
        stored = (
            await session.execute(select(User.password_hash).where(User.user_id == user.user_id))
        ).scalar_one()
    assert stored != weak and "m=19456,t=2,p=1" in stored
    assert (await login(client, name, PASSWORD)).status_code == 200
