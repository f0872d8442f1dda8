"""Test data built through the public HTTP API, as a client would."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

_counter = itertools.count(1)


@dataclass
class TestUser:
    __test__ = False

    user_id: str
    username: str
    user_role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def create_user(client: httpx.AsyncClient, role: str = "PATIENT", name: str = "") -> TestUser:
    username = name or f"{role.lower()}-{next(_counter)}"
    response = await client.post("/api/user/create", json={"username": username, "user_role": role})
    assert response.status_code == 201, response.text
    body = response.json()
    return TestUser(body["user_id"], body["username"], body["user_role"], body["access_token"])


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
    client: httpx.AsyncClient, doctor: TestUser, group_id: str, user: TestUser, role: str | None = None
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
