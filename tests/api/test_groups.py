"""Groups (SPEC §4, §5): who creates them, who reads them, and who changes them."""

from typing import Any

import httpx
import pytest

from tests.factories import (
    SERVICE_HEADERS,
    TestUser,
    add_member,
    assert_error,
    consultation,
    create_group,
    create_user,
)

GROUP_FIELDS = {
    "group_id",
    "group_name",
    "description",
    "created_by",
    "ai_enabled",
    "last_seq",
    "member_count",
    "created_at",
    "updated_at",
}


async def get_group(client: httpx.AsyncClient, user: TestUser, group_id: str) -> httpx.Response:
    return await client.get(f"/api/group/{group_id}", headers=user.headers)


async def patch_group(
    client: httpx.AsyncClient, group_id: str, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    return await client.patch(f"/api/group/{group_id}", json=body, headers=headers)


# --- create -------------------------------------------------------------------------------


async def test_doctor_creates_a_group_and_is_its_doctor(client: httpx.AsyncClient) -> None:
    doctor = await create_user(client, "DOCTOR")
    group = await create_group(client, doctor, "Ward 3", description="post-op")
    assert set(group) == GROUP_FIELDS
    assert group["group_name"] == "Ward 3" and group["description"] == "post-op"
    assert group["created_by"] == doctor.user_id
    assert group["ai_enabled"] is True and group["last_seq"] == 0 and group["member_count"] == 1
    members = await client.get(f"/api/group/{group['group_id']}/members", headers=doctor.headers)
    assert [(m["user_id"], m["user_role"]) for m in members.json()] == [(doctor.user_id, "DOCTOR")]


async def test_patient_cannot_create_a_group(client: httpx.AsyncClient) -> None:
    patient = await create_user(client, "PATIENT")
    response = await client.post(
        "/api/group/create", json={"group_name": "mine"}, headers=patient.headers
    )
    assert_error(response, 403, "NOT_A_DOCTOR")
    listing = await client.get("/api/group/list", headers=patient.headers)
    assert listing.json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"group_name": ""},
        {"group_name": "x" * 101},
        {},
        {"group_name": None},
        {"group_name": "g", "ai_enabled": False},
        {"group_name": "g", "description": "d" * 2001},
    ],
    ids=["empty", "101-chars", "missing", "null", "unknown-field", "long-description"],
)
async def test_group_create_validation(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    doctor = await create_user(client, "DOCTOR")
    response = await client.post("/api/group/create", json=body, headers=doctor.headers)
    assert_error(response, 422, "VALIDATION_ERROR")


async def test_group_name_boundaries(client: httpx.AsyncClient) -> None:
    doctor = await create_user(client, "DOCTOR")
    for name in ("x", "x" * 100):
        assert (await create_group(client, doctor, name))["group_name"] == name


async def test_service_key_creates_a_group_for_a_doctor(client: httpx.AsyncClient) -> None:
    doctor = await create_user(client, "DOCTOR")
    response = await client.post(
        "/api/group/create",
        json={"group_name": "by backend", "owner_user_id": doctor.user_id},
        headers=SERVICE_HEADERS,
    )
    assert response.status_code == 201
    group = response.json()
    assert group["created_by"] == doctor.user_id and group["member_count"] == 1
    mine = await client.get("/api/group/list", headers=doctor.headers)
    assert [(g["group_id"], g["my_role"]) for g in mine.json()] == [(group["group_id"], "DOCTOR")]


async def test_service_key_group_owner_rules(client: httpx.AsyncClient) -> None:
    patient = await create_user(client, "PATIENT")
    create = "/api/group/create"
    assert_error(
        await client.post(create, json={"group_name": "g"}, headers=SERVICE_HEADERS),
        422,
        "OWNER_REQUIRED",
    )
    assert_error(
        await client.post(
            create,
            json={"group_name": "g", "owner_user_id": patient.user_id},
            headers=SERVICE_HEADERS,
        ),
        403,
        "NOT_A_DOCTOR",
    )
    assert_error(
        await client.post(
            create,
            json={"group_name": "g", "owner_user_id": "user_nobody"},
            headers=SERVICE_HEADERS,
        ),
        404,
        "USER_NOT_FOUND",
    )
    assert_error(
        await client.post(
            create, json={"group_name": "g", "owner_user_id": ""}, headers=SERVICE_HEADERS
        ),
        422,
    )
    assert_error(
        await client.post(
            create, json={"group_name": "g"}, headers={"X-API-Key": "bad", **patient.headers}
        ),
        401,
        "INVALID_API_KEY",
    )


async def test_owner_user_id_is_refused_with_a_bearer_token(client: httpx.AsyncClient) -> None:
    doctor = await create_user(client, "DOCTOR")
    other = await create_user(client, "DOCTOR")
    response = await client.post(
        "/api/group/create",
        json={"group_name": "g", "owner_user_id": other.user_id},
        headers=doctor.headers,
    )
    assert_error(response, 422, "OWNER_NOT_ALLOWED")


@pytest.mark.parametrize("settings_overrides", [{"ai_enabled": True}], indirect=True)
async def test_with_ai_enabled_new_groups_include_the_assistant(
    client: httpx.AsyncClient,
) -> None:
    doctor = await create_user(client, "DOCTOR")
    group = await create_group(client, doctor)
    assert group["member_count"] == 2
    members = await client.get(f"/api/group/{group['group_id']}/members", headers=doctor.headers)
    roles = {m["user_role"] for m in members.json()}
    assert roles == {"DOCTOR", "AI_ASSISTANT"}


# --- read ---------------------------------------------------------------------------------


async def test_members_read_the_group(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    for reader in (room.doctor, room.patient):
        response = await get_group(client, reader, room.group_id)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == GROUP_FIELDS
        assert body["group_id"] == room.group_id
        assert body["member_count"] == 2 and body["last_seq"] == 1


async def test_non_members_cannot_read_a_group(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    for role in ("PATIENT", "DOCTOR"):
        outsider = await create_user(client, role)
        assert_error(await get_group(client, outsider, room.group_id), 403, "NOT_A_MEMBER")
        members = await client.get(f"/api/group/{room.group_id}/members", headers=outsider.headers)
        assert_error(members, 403, "NOT_A_MEMBER")


async def test_unknown_group_is_404(client: httpx.AsyncClient) -> None:
    doctor = await create_user(client, "DOCTOR")
    assert_error(await get_group(client, doctor, "group_nope"), 404, "GROUP_NOT_FOUND")
    members = await client.get("/api/group/group_nope/members", headers=doctor.headers)
    assert_error(members, 404, "GROUP_NOT_FOUND")
    assert_error(
        await patch_group(client, "group_nope", {"ai_enabled": False}, doctor.headers),
        404,
        "GROUP_NOT_FOUND",
    )
    assert_error(
        await patch_group(client, "group_nope", {"ai_enabled": False}, SERVICE_HEADERS),
        404,
        "GROUP_NOT_FOUND",
    )


# --- update -------------------------------------------------------------------------------


async def test_doctor_toggles_ai_and_renames(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    off = await patch_group(client, room.group_id, {"ai_enabled": False}, room.doctor.headers)
    assert off.status_code == 200
    assert off.json()["ai_enabled"] is False and off.json()["group_name"] == "Consultation"
    seen = await get_group(client, room.patient, room.group_id)
    assert seen.json()["ai_enabled"] is False
    renamed = await patch_group(
        client,
        room.group_id,
        {"group_name": "Renamed", "description": "about", "ai_enabled": True},
        room.doctor.headers,
    )
    assert renamed.status_code == 200
    body = renamed.json()
    assert (body["group_name"], body["description"], body["ai_enabled"]) == (
        "Renamed",
        "about",
        True,
    )
    cleared = await patch_group(client, room.group_id, {"description": None}, room.doctor.headers)
    assert cleared.json()["description"] is None and cleared.json()["group_name"] == "Renamed"
    untouched = await patch_group(client, room.group_id, {}, room.doctor.headers)
    assert untouched.status_code == 200
    assert untouched.json()["group_name"] == "Renamed" and untouched.json()["ai_enabled"] is True


async def test_service_key_updates_a_group(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    response = await patch_group(client, room.group_id, {"ai_enabled": False}, SERVICE_HEADERS)
    assert response.status_code == 200 and response.json()["ai_enabled"] is False


async def test_only_the_groups_doctors_update_it(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    outsider_doctor = await create_user(client, "DOCTOR")
    change = {"ai_enabled": False}
    assert_error(
        await patch_group(client, room.group_id, change, room.patient.headers),
        403,
        "NOT_GROUP_DOCTOR",
    )
    assert_error(
        await patch_group(client, room.group_id, change, outsider_doctor.headers),
        403,
        "NOT_A_MEMBER",
    )
    assert_error(await patch_group(client, room.group_id, change, {}), 401)
    group = await get_group(client, room.doctor, room.group_id)
    assert group.json()["ai_enabled"] is True


async def test_a_patient_added_as_doctor_administers_the_group(client: httpx.AsyncClient) -> None:
    """Group roles, not system roles, decide who administers a group."""
    room = await consultation(client)
    colleague = await create_user(client, "PATIENT")
    await add_member(client, room.doctor, room.group_id, colleague, role="DOCTOR")
    response = await patch_group(client, room.group_id, {"ai_enabled": False}, colleague.headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"group_name": None},
        {"ai_enabled": None},
        {"group_name": ""},
        {"group_name": "x" * 101},
        {"ai_enabled": "maybe"},
        {"last_seq": 100},
        {"created_by": "user_x"},
    ],
    ids=["null-name", "null-ai", "empty-name", "long-name", "bad-bool", "last-seq", "created-by"],
)
async def test_group_update_validation(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    room = await consultation(client)
    response = await patch_group(client, room.group_id, body, room.doctor.headers)
    assert_error(response, 422)
    group = (await get_group(client, room.doctor, room.group_id)).json()
    assert group["group_name"] == "Consultation" and group["last_seq"] == 1
