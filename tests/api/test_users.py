"""Users (SPEC §4, §5): sign-up and its validation, closed registration, profiles, system roles."""

from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.factories import SERVICE_HEADERS, assert_error, create_user


async def signup(client: httpx.AsyncClient, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return await client.post("/api/user/create", json=body, **kwargs)


async def test_create_user_returns_the_user_and_a_working_token(client: httpx.AsyncClient) -> None:
    response = await signup(client, {"username": "Zhang San", "user_role": "PATIENT"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "user_id",
        "username",
        "user_role",
        "created_at",
        "updated_at",
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
    }
    assert body["user_id"].startswith("user_")
    assert (body["username"], body["user_role"], body["token_type"]) == (
        "Zhang San",
        "PATIENT",
        "bearer",
    )
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
    me = await client.get(
        "/api/user/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["user_id"] == body["user_id"]
    assert "access_token" not in me.json()


async def test_user_ids_are_unique_and_time_sortable(client: httpx.AsyncClient) -> None:
    users = [await create_user(client) for _ in range(5)]
    ids = [user.user_id for user in users]
    assert len(set(ids)) == 5
    assert [i[:17] for i in ids] == sorted(i[:17] for i in ids)  # prefix + ms timestamp


@pytest.mark.parametrize("role", ["PATIENT", "DOCTOR"])
async def test_open_registration_accepts_patients_and_doctors(
    client: httpx.AsyncClient, role: str
) -> None:
    response = await signup(client, {"username": "u", "user_role": role})
    assert response.status_code == 201
    assert response.json()["user_role"] == role


@pytest.mark.parametrize(
    "body",
    [
        {"username": "x", "user_role": "NURSE"},
        {"username": "x", "user_role": "patient"},
        {"username": "x", "user_role": None},
        {"username": "x"},
        {"user_role": "PATIENT"},
        {"username": "", "user_role": "PATIENT"},
        {"username": "x" * 65, "user_role": "PATIENT"},
        {"username": 7, "user_role": "PATIENT"},
        {"username": "x", "user_role": "PATIENT", "user_id": "user_mine"},
        {"username": "x", "user_role": "PATIENT", "is_admin": True},
    ],
    ids=[
        "unknown-role",
        "lower-case-role",
        "null-role",
        "no-role",
        "no-username",
        "empty-username",
        "username-65",
        "username-not-string",
        "user-id-given",
        "unknown-field",
    ],
)
async def test_invalid_signup_is_422_in_the_envelope(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    error = assert_error(await signup(client, body), 422, "VALIDATION_ERROR")
    assert isinstance(error["details"], list) and error["details"]
    assert {"loc", "msg", "type"} <= set(error["details"][0])


async def test_username_boundaries(client: httpx.AsyncClient) -> None:
    for name in ("a", "x" * 64, "李雷"):
        response = await signup(client, {"username": name, "user_role": "PATIENT"})
        assert response.status_code == 201, name
        assert response.json()["username"] == name


async def test_signup_body_must_be_json_object(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/user/create", content=b"not json", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 422, "VALIDATION_ERROR")
    assert_error(await client.post("/api/user/create", json=["x"]), 422, "VALIDATION_ERROR")


async def test_ai_assistant_accounts_need_the_service_key(client: httpx.AsyncClient) -> None:
    body = {"username": "bot", "user_role": "AI_ASSISTANT"}
    assert_error(await signup(client, body), 403, "ROLE_NOT_ALLOWED")
    created = await signup(client, body, headers=SERVICE_HEADERS)
    assert created.status_code == 201
    assert created.json()["user_role"] == "AI_ASSISTANT"


async def test_wrong_service_key_on_signup_is_401(client: httpx.AsyncClient) -> None:
    response = await signup(
        client, {"username": "x", "user_role": "PATIENT"}, headers={"X-API-Key": "nope"}
    )
    assert_error(response, 401, "INVALID_API_KEY")


@pytest.mark.parametrize("settings_overrides", [{"registration_open": False}], indirect=True)
async def test_closed_registration_needs_the_service_key(client: httpx.AsyncClient) -> None:
    body = {"username": "x", "user_role": "DOCTOR"}
    assert_error(await signup(client, body), 403, "REGISTRATION_CLOSED")
    assert_error(await signup(client, body, headers={"X-API-Key": "wrong"}), 401)
    created = await signup(client, body, headers=SERVICE_HEADERS)
    assert created.status_code == 201
    token = created.json()["access_token"]
    me = await client.get("/api/user/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200


@pytest.mark.parametrize("settings_overrides", [{"service_api_key": ""}], indirect=True)
async def test_an_empty_service_key_setting_disables_the_key(client: httpx.AsyncClient) -> None:
    for key in ("", "test-service-key"):
        response = await signup(
            client,
            {"username": "bot", "user_role": "AI_ASSISTANT"},
            headers={"X-API-Key": key},
        )
        assert response.status_code in (401, 403), key
        assert response.json()["error"]["code"] in ("INVALID_API_KEY", "ROLE_NOT_ALLOWED")


async def test_get_me_and_another_users_profile(client: httpx.AsyncClient) -> None:
    alice = await create_user(client, "PATIENT", name="alice")
    bob = await create_user(client, "DOCTOR", name="bob")
    me = await client.get("/api/user/me", headers=alice.headers)
    assert me.status_code == 200
    assert (me.json()["user_id"], me.json()["username"], me.json()["user_role"]) == (
        alice.user_id,
        "alice",
        "PATIENT",
    )
    other = await client.get(f"/api/user/{bob.user_id}", headers=alice.headers)
    assert other.status_code == 200
    assert other.json()["user_id"] == bob.user_id
    assert other.json()["username"] == "bob" and other.json()["user_role"] == "DOCTOR"


async def test_unknown_user_is_404(client: httpx.AsyncClient) -> None:
    alice = await create_user(client)
    response = await client.get("/api/user/user_doesnotexist", headers=alice.headers)
    assert_error(response, 404, "USER_NOT_FOUND")


async def test_profiles_need_a_token(client: httpx.AsyncClient) -> None:
    alice = await create_user(client)
    assert_error(await client.get("/api/user/me"), 401, "NOT_AUTHENTICATED")
    assert_error(await client.get(f"/api/user/{alice.user_id}"), 401)
    # The service key alone does not stand in for a user.
    assert_error(await client.get("/api/user/me", headers=SERVICE_HEADERS), 401)


async def test_change_role_with_the_service_key(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "PATIENT")
    response = await client.put(
        f"/api/user/{user.user_id}/role", json={"user_role": "DOCTOR"}, headers=SERVICE_HEADERS
    )
    assert response.status_code == 200
    assert response.json()["user_role"] == "DOCTOR"
    me = await client.get("/api/user/me", headers=user.headers)
    assert me.json()["user_role"] == "DOCTOR"
    # The new system role takes effect at once: doctors create groups.
    group = await client.post("/api/group/create", json={"group_name": "g"}, headers=user.headers)
    assert group.status_code == 201


async def test_change_role_refused_without_the_service_key(client: httpx.AsyncClient) -> None:
    user = await create_user(client, "PATIENT")
    doctor = await create_user(client, "DOCTOR")
    path = f"/api/user/{user.user_id}/role"
    for who in (user, doctor):
        response = await client.put(path, json={"user_role": "DOCTOR"}, headers=who.headers)
        assert_error(response, 403, "SERVICE_KEY_REQUIRED")
    response = await client.put(
        path, json={"user_role": "DOCTOR"}, headers={"X-API-Key": "wrong", **doctor.headers}
    )
    assert_error(response, 401, "INVALID_API_KEY")
    assert_error(await client.put(path, json={"user_role": "DOCTOR"}), 401)
    me = await client.get("/api/user/me", headers=user.headers)
    assert me.json()["user_role"] == "PATIENT"


async def test_change_role_validation_and_unknown_user(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    path = f"/api/user/{user.user_id}/role"
    for body in ({"user_role": "NURSE"}, {}, {"user_role": "DOCTOR", "username": "x"}):
        response = await client.put(path, json=body, headers=SERVICE_HEADERS)
        assert_error(response, 422, "VALIDATION_ERROR")
    response = await client.put(
        "/api/user/user_nobody/role", json={"user_role": "DOCTOR"}, headers=SERVICE_HEADERS
    )
    assert_error(response, 404, "USER_NOT_FOUND")
