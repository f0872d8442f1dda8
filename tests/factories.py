"""Test data built through the public HTTP API, as a client would."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import SERVICE_KEY

_counter = itertools.count(1)


@dataclass
class TestUser:
    __test__ = False

    user_id: str
    username: str
    user_role: str
    token: str
    refresh_token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def create_user(
    client: httpx.AsyncClient, role: str = "PATIENT", name: str = "", **extra: Any
) -> TestUser:
    """Sign a user up (with `login=…, password=…` or `invite_code=…` when given)."""
    username = name or f"{role.lower()}-{next(_counter)}"
    response = await client.post(
        "/api/user/create", json={"username": username, "user_role": role, **extra}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return TestUser(
        body["user_id"],
        body["username"],
        body["user_role"],
        body["access_token"],
        body["refresh_token"],
    )


def unique_login(prefix: str = "user") -> str:
    return f"{prefix}{next(_counter)}"


async def create_group(
    client: httpx.AsyncClient, doctor: TestUser, name: str = "Consultation", **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/group/create", json={"group_name": name, **extra}, headers=doctor.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def add_member(
    client: httpx.AsyncClient,
    doctor: TestUser,
    group_id: str,
    user: TestUser,
    role: str | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {"user_id": user.user_id}
    if role is not None:
        payload["user_role"] = role
    response = await client.post(
        f"/api/group/{group_id}/members", json=payload, headers=doctor.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def send(
    client: httpx.AsyncClient, user: TestUser, group_id: str, content: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        "/api/message/send",
        json={"group_id": group_id, "content": content, **extra},
        headers=user.headers,
    )


@dataclass
class Consultation:
    """A doctor's group with one patient in it."""

    doctor: TestUser
    patient: TestUser
    group_id: str


async def consultation(client: httpx.AsyncClient) -> Consultation:
    doctor = await create_user(client, "DOCTOR")
    patient = await create_user(client, "PATIENT")
    group = await create_group(client, doctor)
    await add_member(client, doctor, group["group_id"], patient)
    return Consultation(doctor, patient, group["group_id"])


SERVICE_HEADERS = {"X-API-Key": SERVICE_KEY}


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is the SPEC §5 error envelope with `status` (and `code`, when given)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


async def send_ok(
    client: httpx.AsyncClient, user: TestUser, group_id: str, content: str, **extra: Any
) -> dict[str, Any]:
    response = await send(client, user, group_id, content, **extra)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def list_messages(
    client: httpx.AsyncClient, user: TestUser, group_id: str, **params: Any
) -> httpx.Response:
    return await client.get(
        "/api/message/list", params={"group_id": group_id, **params}, headers=user.headers
    )


async def my_groups(client: httpx.AsyncClient, user: TestUser) -> dict[str, dict[str, Any]]:
    """The caller's group list, keyed by group_id."""
    response = await client.get("/api/group/list", headers=user.headers)
    assert response.status_code == 200, response.text
    return {group["group_id"]: group for group in response.json()}


async def mark_read(
    client: httpx.AsyncClient, user: TestUser, group_id: str, seq: int
) -> httpx.Response:
    return await client.post(
        "/api/message/read", json={"group_id": group_id, "seq": seq}, headers=user.headers
    )
