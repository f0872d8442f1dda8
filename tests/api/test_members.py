"""Membership (SPEC §4, §5): adding, listing, leaving and removing, and the SYSTEM messages."""

import asyncio
from datetime import datetime
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
    list_messages,
    send_ok,
)


async def members_of(
    client: httpx.AsyncClient, reader: TestUser, group_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"/api/group/{group_id}/members", headers=reader.headers)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


async def history(
    client: httpx.AsyncClient, reader: TestUser, group_id: str
) -> list[dict[str, Any]]:
    """Every message of the group, oldest first."""
    response = await list_messages(client, reader, group_id, after_seq=0, limit=200)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()["messages"]
    return body


async def post_member(
    client: httpx.AsyncClient, group_id: str, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    return await client.post(f"/api/group/{group_id}/members", json=body, headers=headers)


async def remove(
    client: httpx.AsyncClient, group_id: str, user_id: str, headers: dict[str, str]
) -> httpx.Response:
    return await client.delete(f"/api/group/{group_id}/members/{user_id}", headers=headers)


# --- add ----------------------------------------------------------------------------------


async def test_doctor_adds_a_patient(client: httpx.AsyncClient) -> None:
    doctor = await create_user(client, "DOCTOR", name="Dr Zhou")
    patient = await create_user(client, "PATIENT", name="Xiao Ming")
    group = await create_group(client, doctor)
    member = await add_member(client, doctor, group["group_id"], patient)
    assert set(member) == {"user_id", "username", "user_role", "joined_at", "online"}
    assert (member["user_id"], member["username"], member["user_role"]) == (
        patient.user_id,
        "Xiao Ming",
        "PATIENT",
    )
    assert member["online"] is False
    assert datetime.fromisoformat(member["joined_at"]).tzinfo is not None
    listed = await members_of(client, patient, group["group_id"])
    assert [(m["user_id"], m["user_role"], m["online"]) for m in listed] == [
        (doctor.user_id, "DOCTOR", False),
        (patient.user_id, "PATIENT", False),
    ]


async def test_the_join_is_recorded_as_a_system_message_from_the_adder(
    client: httpx.AsyncClient,
) -> None:
    room = await consultation(client)
    messages = await history(client, room.patient, room.group_id)
    assert len(messages) == 1
    join = messages[0]
    assert (join["seq"], join["msg_type"], join["from_user_id"], join["from_user_role"]) == (
        1,
        "SYSTEM",
        room.doctor.user_id,
        "DOCTOR",
    )
    assert join["msg_content"]
    group = await client.get(f"/api/group/{room.group_id}", headers=room.doctor.headers)
    assert group.json()["last_seq"] == 1


async def test_explicit_group_role_overrides_the_system_role(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    consultant = await create_user(client, "DOCTOR")
    member = await add_member(client, room.doctor, room.group_id, consultant, role="PATIENT")
    assert member["user_role"] == "PATIENT"
    sent = await send_ok(client, consultant, room.group_id, "as a patient here")
    assert sent["from_user_role"] == "PATIENT"


async def test_service_key_adds_a_member(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    newcomer = await create_user(client, "PATIENT")
    response = await post_member(
        client, room.group_id, {"user_id": newcomer.user_id}, SERVICE_HEADERS
    )
    assert response.status_code == 201
    join = (await history(client, newcomer, room.group_id))[-1]
    assert join["msg_type"] == "SYSTEM"
    assert join["from_user_id"] == newcomer.user_id and join["from_user_role"] == "PATIENT"


async def test_patient_cannot_add_members(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    friend = await create_user(client, "PATIENT")
    response = await post_member(
        client, room.group_id, {"user_id": friend.user_id}, room.patient.headers
    )
    assert_error(response, 403, "NOT_GROUP_DOCTOR")
    assert len(await members_of(client, room.doctor, room.group_id)) == 2
    assert len(await history(client, room.doctor, room.group_id)) == 1


async def test_doctor_outside_the_group_cannot_add_members(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    stranger = await create_user(client, "DOCTOR")
    response = await post_member(
        client, room.group_id, {"user_id": stranger.user_id}, stranger.headers
    )
    assert_error(response, 403, "NOT_A_MEMBER")


async def test_add_member_not_found_and_conflict(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    newcomer = await create_user(client)
    assert_error(
        await post_member(client, "group_nope", {"user_id": newcomer.user_id}, room.doctor.headers),
        404,
        "GROUP_NOT_FOUND",
    )
    assert_error(
        await post_member(client, room.group_id, {"user_id": "user_nope"}, room.doctor.headers),
        404,
        "USER_NOT_FOUND",
    )
    for already in (room.patient, room.doctor):
        assert_error(
            await post_member(
                client, room.group_id, {"user_id": already.user_id}, room.doctor.headers
            ),
            409,
            "ALREADY_MEMBER",
        )
    # Nothing of the refused calls was stored.
    assert len(await history(client, room.doctor, room.group_id)) == 1


@pytest.mark.parametrize(
    "body",
    [{}, {"user_id": ""}, {"user_id": "u", "user_role": "NURSE"}, {"user_id": "u", "x": 1}],
    ids=["missing", "empty", "bad-role", "unknown-field"],
)
async def test_add_member_validation(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    room = await consultation(client)
    response = await post_member(client, room.group_id, body, room.doctor.headers)
    assert_error(response, 422, "VALIDATION_ERROR")


# --- leave and remove ---------------------------------------------------------------------


async def test_member_leaves_by_themselves(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    response = await remove(client, room.group_id, room.patient.user_id, room.patient.headers)
    assert response.status_code == 204
    assert response.content == b""
    members = await members_of(client, room.doctor, room.group_id)
    assert [m["user_id"] for m in members] == [room.doctor.user_id]
    leave = (await history(client, room.doctor, room.group_id))[-1]
    assert (leave["seq"], leave["msg_type"], leave["from_user_id"], leave["from_user_role"]) == (
        2,
        "SYSTEM",
        room.patient.user_id,
        "PATIENT",
    )
    # Once out, the group is closed to them.
    gone = await client.get(f"/api/group/{room.group_id}", headers=room.patient.headers)
    assert_error(gone, 403, "NOT_A_MEMBER")
    listing = await client.get("/api/group/list", headers=room.patient.headers)
    assert listing.json() == []


async def test_doctor_removes_a_member(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    response = await remove(client, room.group_id, room.patient.user_id, room.doctor.headers)
    assert response.status_code == 204
    members = await members_of(client, room.doctor, room.group_id)
    assert [m["user_id"] for m in members] == [room.doctor.user_id]
    leave = (await history(client, room.doctor, room.group_id))[-1]
    assert (leave["msg_type"], leave["from_user_id"], leave["from_user_role"]) == (
        "SYSTEM",
        room.doctor.user_id,
        "DOCTOR",
    )
    send = await client.post(
        "/api/message/send",
        json={"group_id": room.group_id, "content": "still here?"},
        headers=room.patient.headers,
    )
    assert_error(send, 403, "NOT_A_MEMBER")


async def test_service_key_removes_a_member(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    response = await remove(client, room.group_id, room.patient.user_id, SERVICE_HEADERS)
    assert response.status_code == 204
    assert len(await members_of(client, room.doctor, room.group_id)) == 1
    leave = (await history(client, room.doctor, room.group_id))[-1]
    assert leave["msg_type"] == "SYSTEM" and leave["seq"] == 2


async def test_patient_cannot_remove_someone_else(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    other = await create_user(client, "PATIENT")
    await add_member(client, room.doctor, room.group_id, other)
    for target in (other, room.doctor):
        response = await remove(client, room.group_id, target.user_id, room.patient.headers)
        assert_error(response, 403, "NOT_GROUP_DOCTOR")
    assert len(await members_of(client, room.doctor, room.group_id)) == 3
    assert len(await history(client, room.doctor, room.group_id)) == 2


async def test_outsider_cannot_remove_members(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    stranger = await create_user(client, "DOCTOR")
    response = await remove(client, room.group_id, room.patient.user_id, stranger.headers)
    assert_error(response, 403, "NOT_A_MEMBER")
    assert_error(await remove(client, room.group_id, room.patient.user_id, {}), 401)
    assert len(await members_of(client, room.doctor, room.group_id)) == 2


async def test_remove_not_found_cases(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    stranger = await create_user(client, "PATIENT")
    assert_error(
        await remove(client, room.group_id, stranger.user_id, room.doctor.headers),
        404,
        "MEMBER_NOT_FOUND",
    )
    assert_error(
        await remove(client, room.group_id, "user_nope", room.doctor.headers),
        404,
        "MEMBER_NOT_FOUND",
    )
    assert_error(
        await remove(client, "group_nope", room.patient.user_id, room.doctor.headers),
        404,
        "GROUP_NOT_FOUND",
    )
    assert_error(
        await remove(client, "group_nope", stranger.user_id, stranger.headers),
        404,
        "GROUP_NOT_FOUND",
    )
    # A non-member "leaving" a group they are not in is refused, not a silent success.
    assert_error(
        await remove(client, room.group_id, stranger.user_id, stranger.headers),
        403,
        "NOT_A_MEMBER",
    )
    assert len(await history(client, room.doctor, room.group_id)) == 1


async def test_leave_twice_and_rejoin(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    assert (
        await remove(client, room.group_id, room.patient.user_id, room.patient.headers)
    ).status_code == 204
    again = await remove(client, room.group_id, room.patient.user_id, room.patient.headers)
    assert_error(again, 403, "NOT_A_MEMBER")
    await add_member(client, room.doctor, room.group_id, room.patient)
    seqs = [m["seq"] for m in await history(client, room.patient, room.group_id)]
    assert seqs == [1, 2, 3]


async def test_the_last_doctor_cannot_leave_or_be_removed(client: httpx.AsyncClient) -> None:
    """Before the fix the last doctor could leave, orphaning the patients' consultation."""
    room = await consultation(client)
    response = await remove(client, room.group_id, room.doctor.user_id, room.doctor.headers)
    assert_error(response, 409, "LAST_DOCTOR")
    assert len(await members_of(client, room.patient, room.group_id)) == 2
    assert len(await history(client, room.patient, room.group_id)) == 1  # no SYSTEM message


async def test_a_doctor_leaves_when_another_stays(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    colleague = await create_user(client, "DOCTOR")
    await add_member(client, room.doctor, room.group_id, colleague)
    response = await remove(client, room.group_id, room.doctor.user_id, room.doctor.headers)
    assert response.status_code == 204
    members = await members_of(client, room.patient, room.group_id)
    assert {m["user_id"] for m in members} == {room.patient.user_id, colleague.user_id}
    leave = (await history(client, room.patient, room.group_id))[-1]
    assert leave["from_user_id"] == room.doctor.user_id and leave["from_user_role"] == "DOCTOR"
    # The remaining doctor is now the last one.
    response = await remove(client, room.group_id, colleague.user_id, colleague.headers)
    assert_error(response, 409, "LAST_DOCTOR")


async def test_only_the_service_key_ends_the_last_doctor_membership(
    client: httpx.AsyncClient,
) -> None:
    room = await consultation(client)
    response = await remove(client, room.group_id, room.doctor.user_id, SERVICE_HEADERS)
    assert response.status_code == 204
    members = await members_of(client, room.patient, room.group_id)
    assert [m["user_id"] for m in members] == [room.patient.user_id]


async def test_concurrent_leaves_keep_a_doctor(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    colleague = await create_user(client, "DOCTOR")
    await add_member(client, room.doctor, room.group_id, colleague)
    responses = await asyncio.gather(
        remove(client, room.group_id, room.doctor.user_id, room.doctor.headers),
        remove(client, room.group_id, colleague.user_id, colleague.headers),
    )
    assert sorted(r.status_code for r in responses) == [204, 409]
    members = await members_of(client, room.patient, room.group_id)
    assert [m["user_role"] for m in members].count("DOCTOR") == 1


@pytest.mark.parametrize(
    ("system_role", "group_role"),
    [("PATIENT", "AI_ASSISTANT"), ("DOCTOR", "AI_ASSISTANT")],
)
async def test_a_human_never_wears_the_ai_badge(
    client: httpx.AsyncClient, system_role: str, group_role: str
) -> None:
    """Before the fix a doctor could add a person with the group role AI_ASSISTANT."""
    room = await consultation(client)
    person = await create_user(client, system_role)
    body = {"user_id": person.user_id, "user_role": group_role}
    response = await post_member(client, room.group_id, body, room.doctor.headers)
    assert_error(response, 422, "ROLE_MISMATCH")
    assert len(await members_of(client, room.doctor, room.group_id)) == 2


@pytest.mark.parametrize("group_role", ["PATIENT", "DOCTOR"])
async def test_the_ai_assistant_has_no_other_group_role(
    client: httpx.AsyncClient, group_role: str
) -> None:
    """An AI assistant added as PATIENT would have its own replies routed to the AI."""
    room = await consultation(client)
    response = await client.post(
        "/api/user/create",
        json={"username": "Other AI", "user_role": "AI_ASSISTANT"},
        headers=SERVICE_HEADERS,
    )
    assistant_id = response.json()["user_id"]
    body = {"user_id": assistant_id, "user_role": group_role}
    response = await post_member(client, room.group_id, body, room.doctor.headers)
    assert_error(response, 422, "ROLE_MISMATCH")
    response = await post_member(client, room.group_id, {"user_id": assistant_id}, SERVICE_HEADERS)
    assert response.status_code == 201 and response.json()["user_role"] == "AI_ASSISTANT"


async def test_member_count_follows_membership(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    extra = await create_user(client)
    await add_member(client, room.doctor, room.group_id, extra)
    group = await client.get(f"/api/group/{room.group_id}", headers=room.doctor.headers)
    assert group.json()["member_count"] == 3
    await remove(client, room.group_id, extra.user_id, room.doctor.headers)
    group = await client.get(f"/api/group/{room.group_id}", headers=room.doctor.headers)
    assert group.json()["member_count"] == 2 and group.json()["last_seq"] == 3
