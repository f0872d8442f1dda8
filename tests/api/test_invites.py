"""Invites (SPEC §10): group invites (create, list, revoke, preview, accept; max uses, expiry),
doctor invites and doctor sign-up by invitation, the bootstrap doctor invite."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, update

from app.db.base import utcnow
from app.models import Invite
from tests.factories import (
    SERVICE_HEADERS,
    TestUser,
    assert_error,
    consultation,
    create_user,
    list_messages,
)

INVITE_DEFAULT = pytest.mark.parametrize(
    "settings_overrides", [{"doctor_signup": "invite"}], indirect=True
)


async def invite(
    client: httpx.AsyncClient, doctor: TestUser, group_id: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/api/group/{group_id}/invites", json=body, headers=doctor.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def accept(client: httpx.AsyncClient, user: TestUser, code: str) -> httpx.Response:
    return await client.post(f"/api/invites/{code}/accept", headers=user.headers)


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    """Every SQL statement the app runs meanwhile."""
    seen: list[str] = []
    engine = app.state.server.core.db.engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_a_patient_joins_a_consultation_from_an_invite(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    created = await invite(client, room.doctor, room.group_id)
    assert set(created) == {
        "code",
        "url",
        "kind",
        "group_id",
        "user_role",
        "max_uses",
        "uses",
        "expires_at",
        "created_at",
    }
    code = created["code"]
    assert len(code) >= 22 and created["url"] == f"/#invite={code}"
    assert (created["kind"], created["user_role"], created["max_uses"], created["uses"]) == (
        "group",
        "PATIENT",
        1,
        0,
    )
    lifetime = datetime.fromisoformat(created["expires_at"]) - utcnow()
    assert timedelta(hours=71) < lifetime <= timedelta(hours=72)

    newcomer = await create_user(client)
    joined = await accept(client, newcomer, code)
    assert joined.status_code == 201, joined.text
    assert (joined.json()["user_id"], joined.json()["user_role"]) == (newcomer.user_id, "PATIENT")
    history = (await list_messages(client, newcomer, room.group_id)).json()["messages"]
    assert history[0]["msg_type"] == "SYSTEM"
    assert history[0]["msg_content"] == f"{newcomer.username} joined"
    assert history[0]["from_user_id"] == newcomer.user_id

    assert_error(await accept(client, newcomer, code), 409, "ALREADY_MEMBER")
    latecomer = await create_user(client)
    assert_error(await accept(client, latecomer, code), 404, "INVITE_NOT_FOUND")  # used up
    assert_error(await client.get(f"/api/invites/{code}"), 404, "INVITE_NOT_FOUND")


async def test_the_preview_shows_five_fields_and_nothing_else(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    created = await invite(client, room.doctor, room.group_id, user_role="DOCTOR")
    preview = await client.get(f"/api/invites/{created['code']}")  # no credentials
    assert preview.status_code == 200
    body = preview.json()
    assert body == {
        "kind": "group",
        "group_name": "Consultation",
        "inviter_name": room.doctor.username,
        "user_role": "DOCTOR",
        "expires_at": created["expires_at"],
    }
    for secret in (room.group_id, room.doctor.user_id, room.patient.user_id):
        assert secret not in preview.text


async def test_max_uses(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    created = await invite(client, room.doctor, room.group_id, max_uses=2)
    for _ in range(2):
        assert (await accept(client, await create_user(client), created["code"])).status_code == 201
    assert_error(await accept(client, await create_user(client), created["code"]), 404)
    members = await client.get(f"/api/group/{room.group_id}/members", headers=room.doctor.headers)
    assert len(members.json()) == 4


async def test_an_expired_invite_is_unknown(client: httpx.AsyncClient, app: FastAPI) -> None:
    room = await consultation(client)
    created = await invite(client, room.doctor, room.group_id, expires_in_hours=1)
    async with app.state.server.core.db.write() as session, session.begin():
        await session.execute(update(Invite).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert_error(await client.get(f"/api/invites/{created['code']}"), 404, "INVITE_NOT_FOUND")
    assert_error(await accept(client, await create_user(client), created["code"]), 404)
    listed = await client.get(f"/api/group/{room.group_id}/invites", headers=room.doctor.headers)
    assert listed.json() == []


async def test_list_and_revoke(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    first = await invite(client, room.doctor, room.group_id)
    second = await invite(client, room.doctor, room.group_id, max_uses=10)
    listed = await client.get(f"/api/group/{room.group_id}/invites", headers=room.doctor.headers)
    assert [i["code"] for i in listed.json()] == [second["code"], first["code"]]

    assert_error(
        await client.delete(f"/api/invites/{first['code']}", headers=room.patient.headers),
        403,
        "NOT_GROUP_DOCTOR",
    )
    revoked = await client.delete(f"/api/invites/{first['code']}", headers=room.doctor.headers)
    assert revoked.status_code == 204
    assert_error(await client.get(f"/api/invites/{first['code']}"), 404)
    assert_error(await accept(client, await create_user(client), first["code"]), 404)
    listed = await client.get(f"/api/group/{room.group_id}/invites", headers=SERVICE_HEADERS)
    assert [i["code"] for i in listed.json()] == [second["code"]]
    again = await client.delete(f"/api/invites/{first['code']}", headers=SERVICE_HEADERS)
    assert again.status_code == 204


async def test_only_the_groups_doctors_manage_its_invites(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    other_doctor = await create_user(client, "DOCTOR")
    path = f"/api/group/{room.group_id}/invites"
    assert_error(await client.post(path, json={}, headers=room.patient.headers), 403)
    assert_error(await client.post(path, json={}, headers=other_doctor.headers), 403)
    assert_error(await client.get(path, headers=room.patient.headers), 403)
    assert_error(await client.post(path, json={}), 401)
    ghost = "/api/group/group_ghost/invites"
    assert_error(await client.post(ghost, json={}, headers=room.doctor.headers), 404)
    by_key = await client.post(path, json={}, headers=SERVICE_HEADERS)
    assert by_key.status_code == 201
    preview = (await client.get(f"/api/invites/{by_key.json()['code']}")).json()
    assert preview["inviter_name"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"user_role": "AI_ASSISTANT"},
        {"user_role": "NURSE"},
        {"max_uses": 0},
        {"max_uses": 1001},
        {"expires_in_hours": 0},
        {"expires_in_hours": 721},
        {"group_id": "group_x"},
    ],
)
async def test_group_invite_validation(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    room = await consultation(client)
    response = await client.post(
        f"/api/group/{room.group_id}/invites", json=body, headers=room.doctor.headers
    )
    assert_error(response, 422)


@pytest.mark.parametrize(
    "code", ["short", "x" * 23, "x" * 25, "bad*code*bad*code*bad*co", "%20" * 8]
)
async def test_a_code_of_the_wrong_shape_is_404_without_a_database_hit(
    client: httpx.AsyncClient, app: FastAPI, code: str
) -> None:
    user = await create_user(client)
    assert (await client.get("/api/user/me", headers=user.headers)).status_code == 200
    with statements(app) as seen:
        assert_error(await client.get(f"/api/invites/{code}"), 404, "INVITE_NOT_FOUND")
        assert_error(await accept(client, user, code), 404, "INVITE_NOT_FOUND")
        assert_error(await client.delete(f"/api/invites/{code}", headers=SERVICE_HEADERS), 404)
    assert seen == []


async def doctor_invite(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post("/api/invites", json={"kind": "doctor"}, headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["kind"], body["user_role"], body["max_uses"], body["group_id"]) == (
        "doctor",
        "DOCTOR",
        1,
        None,
    )
    code: str = body["code"]
    return code


def doctor_signup(code: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"username": "Dr New", "user_role": "DOCTOR"}
    if code is not None:
        body["invite_code"] = code
    return body


@INVITE_DEFAULT
async def test_doctors_sign_up_with_a_doctor_invite(client: httpx.AsyncClient) -> None:
    assert_error(
        await client.post("/api/user/create", json=doctor_signup()), 403, "DOCTOR_INVITE_REQUIRED"
    )
    assert_error(
        await client.post("/api/user/create", json=doctor_signup("A" * 24)),
        403,
        "DOCTOR_INVITE_REQUIRED",
    )
    # Patients still sign up freely; the service key still makes doctors.
    patient = await create_user(client)
    first = await client.post("/api/user/create", json=doctor_signup(), headers=SERVICE_HEADERS)
    assert first.status_code == 201
    doctor_headers = {"Authorization": f"Bearer {first.json()['access_token']}"}

    code = await doctor_invite(client, doctor_headers)
    preview = (await client.get(f"/api/invites/{code}")).json()
    assert preview == {
        "kind": "doctor",
        "group_name": None,
        "inviter_name": "Dr New",
        "user_role": "DOCTOR",
        "expires_at": preview["expires_at"],
    }
    assert_error(await accept(client, patient, code), 404)  # not a group invite
    signed_up = await client.post("/api/user/create", json=doctor_signup(code))
    assert signed_up.status_code == 201, signed_up.text
    assert signed_up.json()["user_role"] == "DOCTOR"
    assert_error(
        await client.post("/api/user/create", json=doctor_signup(code)),
        403,
        "DOCTOR_INVITE_REQUIRED",
    )
    assert_error(
        await client.post("/api/invites", json={"kind": "doctor"}, headers=patient.headers),
        403,
        "NOT_A_DOCTOR",
    )
    assert (await doctor_invite(client, SERVICE_HEADERS)) != code


@INVITE_DEFAULT
async def test_a_doctor_invite_is_not_a_patient_sign_up(client: httpx.AsyncClient) -> None:
    code = await doctor_invite(client, SERVICE_HEADERS)
    body = {"username": "p", "user_role": "PATIENT", "invite_code": code}
    assert_error(await client.post("/api/user/create", json=body), 422, "INVITE_NOT_FOR_ROLE")
    assert (await client.get(f"/api/invites/{code}")).status_code == 200  # not used up


@INVITE_DEFAULT
async def test_a_revoked_doctor_invite_cannot_sign_anyone_up(client: httpx.AsyncClient) -> None:
    doctor = await client.post("/api/user/create", json=doctor_signup(), headers=SERVICE_HEADERS)
    headers = {"Authorization": f"Bearer {doctor.json()['access_token']}"}
    code = await doctor_invite(client, headers)
    other = await create_user(client, "PATIENT")
    assert_error(await client.delete(f"/api/invites/{code}", headers=other.headers), 403)
    assert (await client.delete(f"/api/invites/{code}", headers=headers)).status_code == 204
    assert_error(await client.post("/api/user/create", json=doctor_signup(code)), 403)


@INVITE_DEFAULT
async def test_the_bootstrap_invite_is_one_and_lasts_until_a_doctor_exists(app: FastAPI) -> None:
    invites = app.state.server.invites
    code = await invites.ensure_bootstrap()  # the lifespan made it already: the same one
    assert code is not None and code == await invites.ensure_bootstrap()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        signed_up = await client.post("/api/user/create", json=doctor_signup(code))
        assert signed_up.status_code == 201
    assert await invites.ensure_bootstrap() is None


async def test_concurrent_accepts_never_pass_max_uses(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    created = await invite(client, room.doctor, room.group_id, max_uses=2)
    people = [await create_user(client) for _ in range(5)]
    answers = await asyncio.gather(*(accept(client, p, created["code"]) for p in people))
    assert sorted(a.status_code for a in answers) == [201, 201, 404, 404, 404]
    members = await client.get(f"/api/group/{room.group_id}/members", headers=room.doctor.headers)
    assert len(members.json()) == 4
    history = (await list_messages(client, room.doctor, room.group_id)).json()["messages"]
    assert sum(m["msg_content"].endswith(" joined") for m in history) == 2  # refused: no trace
