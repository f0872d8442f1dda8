"""My groups (SPEC §5): my_role, last_message, unread counts, and read marks."""

import httpx
import pytest

from tests.factories import (
    add_member,
    assert_error,
    consultation,
    create_group,
    create_user,
    list_messages,
    mark_read,
    my_groups,
    send_ok,
)


async def test_list_shows_only_my_groups_with_my_role(client: httpx.AsyncClient) -> None:
    doctor = await create_user(client, "DOCTOR")
    patient = await create_user(client, "PATIENT")
    stranger = await create_user(client, "DOCTOR")
    first = await create_group(client, doctor, "first")
    second = await create_group(client, doctor, "second")
    await create_group(client, stranger, "not mine")
    await add_member(client, doctor, first["group_id"], patient)

    doctors = await my_groups(client, doctor)
    assert set(doctors) == {first["group_id"], second["group_id"]}
    assert {g["my_role"] for g in doctors.values()} == {"DOCTOR"}
    patients = await my_groups(client, patient)
    assert set(patients) == {first["group_id"]}
    entry = patients[first["group_id"]]
    assert entry["my_role"] == "PATIENT" and entry["group_name"] == "first"
    assert entry["member_count"] == 2
    assert {"last_message", "unread_count", "my_role", "group_id", "last_seq"} <= set(entry)
    assert doctors[second["group_id"]]["last_message"] is None
    assert doctors[second["group_id"]]["unread_count"] == 0
    assert (await client.get("/api/group/list")).status_code == 401


async def test_last_message_and_order_follow_activity(client: httpx.AsyncClient) -> None:
    doctor = await create_user(client, "DOCTOR")
    quiet = await create_group(client, doctor, "quiet")
    busy = await create_group(client, doctor, "busy")
    await send_ok(client, doctor, quiet["group_id"], "q1")
    await send_ok(client, doctor, busy["group_id"], "b1")
    latest = await send_ok(client, doctor, busy["group_id"], "b2")
    response = await client.get("/api/group/list", headers=doctor.headers)
    groups = response.json()
    assert [g["group_id"] for g in groups] == [busy["group_id"], quiet["group_id"]]
    assert groups[0]["last_message"] == latest
    assert groups[0]["last_seq"] == 2
    await send_ok(client, doctor, quiet["group_id"], "q2")
    groups = (await client.get("/api/group/list", headers=doctor.headers)).json()
    assert [g["group_id"] for g in groups] == [quiet["group_id"], busy["group_id"]]
    assert groups[0]["last_message"]["msg_content"] == "q2"


async def test_unread_counts_others_messages_after_my_read_mark(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    for text in ("a", "b", "c"):
        await send_ok(client, room.doctor, room.group_id, text)
    await send_ok(client, room.patient, room.group_id, "mine")
    # The patient's read mark starts at their join (seq 1); their own message is not unread.
    assert (await my_groups(client, room.patient))[room.group_id]["unread_count"] == 3
    # The doctor sent the join and three texts: only the patient's message is unread.
    assert (await my_groups(client, room.doctor))[room.group_id]["unread_count"] == 1

    response = await mark_read(client, room.patient, room.group_id, 3)
    assert response.status_code == 200
    assert response.json() == {
        "group_id": room.group_id,
        "user_id": room.patient.user_id,
        "last_read_seq": 3,
    }
    mine = (await my_groups(client, room.patient))[room.group_id]
    assert mine["unread_count"] == 1 and mine["last_read_seq"] == 3

    assert (await mark_read(client, room.patient, room.group_id, 5)).status_code == 200
    assert (await my_groups(client, room.patient))[room.group_id]["unread_count"] == 0
    assert (await mark_read(client, room.doctor, room.group_id, 5)).status_code == 200
    assert (await my_groups(client, room.doctor))[room.group_id]["unread_count"] == 0


async def test_read_mark_never_moves_backwards(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    for text in ("a", "b", "c"):
        await send_ok(client, room.doctor, room.group_id, text)
    assert (await mark_read(client, room.patient, room.group_id, 4)).json()["last_read_seq"] == 4
    back = await mark_read(client, room.patient, room.group_id, 2)
    assert back.status_code == 200 and back.json()["last_read_seq"] == 4
    zero = await mark_read(client, room.patient, room.group_id, 0)
    assert zero.status_code == 200 and zero.json()["last_read_seq"] == 4
    assert (await my_groups(client, room.patient))[room.group_id]["unread_count"] == 0


async def test_system_messages_count_as_unread_for_others(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    newcomer = await create_user(client)
    await add_member(client, room.doctor, room.group_id, newcomer)
    assert (await my_groups(client, room.patient))[room.group_id]["unread_count"] == 1
    assert (await my_groups(client, room.doctor))[room.group_id]["unread_count"] == 0
    await client.delete(
        f"/api/group/{room.group_id}/members/{newcomer.user_id}", headers=newcomer.headers
    )
    assert (await my_groups(client, room.patient))[room.group_id]["unread_count"] == 2
    assert (await my_groups(client, room.doctor))[room.group_id]["unread_count"] == 1
    last = (await my_groups(client, room.patient))[room.group_id]["last_message"]
    assert last["msg_type"] == "SYSTEM" and last["from_user_id"] == newcomer.user_id


async def test_joiner_starts_with_nothing_unread_but_reads_history(
    client: httpx.AsyncClient,
) -> None:
    room = await consultation(client)
    for text in ("one", "two", "three"):
        await send_ok(client, room.doctor, room.group_id, text)
    late = await create_user(client)
    await add_member(client, room.doctor, room.group_id, late)
    entry = (await my_groups(client, late))[room.group_id]
    assert entry["unread_count"] == 0
    assert entry["last_read_seq"] == entry["last_seq"] == 5
    history = (await list_messages(client, late, room.group_id)).json()
    assert history["total"] == 5
    assert [m["msg_content"] for m in history["messages"][1:4]] == ["three", "two", "one"]
    await send_ok(client, room.doctor, room.group_id, "welcome")
    assert (await my_groups(client, late))[room.group_id]["unread_count"] == 1


async def test_read_beyond_last_seq_is_422(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    await send_ok(client, room.doctor, room.group_id, "x")
    assert_error(await mark_read(client, room.patient, room.group_id, 3), 422, "INVALID_SEQ")
    assert_error(await mark_read(client, room.patient, room.group_id, 10**20), 422)
    assert (await my_groups(client, room.patient))[room.group_id]["last_read_seq"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"group_id": "g"},
        {"seq": 1},
        {"group_id": "g", "seq": -1},
        {"group_id": "g", "seq": "x"},
        {"group_id": "g", "seq": 1, "user_id": "u"},
    ],
    ids=["no-seq", "no-group", "negative", "not-int", "unknown-field"],
)
async def test_read_validation(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    user = await create_user(client)
    response = await client.post("/api/message/read", json=body, headers=user.headers)
    assert_error(response, 422, "VALIDATION_ERROR")


async def test_read_refused_to_outsiders_and_unknown_group(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    outsider = await create_user(client)
    assert_error(await mark_read(client, outsider, room.group_id, 1), 403, "NOT_A_MEMBER")
    assert_error(await mark_read(client, outsider, "group_nope", 0), 404, "GROUP_NOT_FOUND")
    assert_error(
        await client.post("/api/message/read", json={"group_id": room.group_id, "seq": 1}), 401
    )
