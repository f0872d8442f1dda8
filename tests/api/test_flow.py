"""The seed's flow over HTTP: users, a doctor's group, a patient added, send, list, get."""

import httpx

from tests.factories import (
    add_member,
    create_group,
    create_user,
    list_messages,
    my_groups,
    send_ok,
)


async def test_consultation_flow_end_to_end(client: httpx.AsyncClient) -> None:
    doctor = await create_user(client, "DOCTOR", name="Dr Wang")
    patient = await create_user(client, "PATIENT", name="Li Lei")
    assert doctor.user_id.startswith("user_") and patient.user_id.startswith("user_")

    group = await create_group(client, doctor, "Cardiology follow-up", description="week 2")
    group_id = group["group_id"]
    assert group_id.startswith("group_")
    assert group["created_by"] == doctor.user_id
    assert group["member_count"] == 1 and group["last_seq"] == 0

    member = await add_member(client, doctor, group_id, patient)
    assert member["user_id"] == patient.user_id and member["user_role"] == "PATIENT"
    assert member["username"] == "Li Lei"

    question = await send_ok(client, patient, group_id, "I feel dizzy after the new pills")
    answer = await send_ok(client, doctor, group_id, "Take them after meals, please")
    assert question["message_id"].startswith("msg_")
    assert (question["seq"], answer["seq"]) == (2, 3)  # seq 1 is the join message
    assert question["from_user_role"] == "PATIENT" and answer["from_user_role"] == "DOCTOR"
    assert question["msg_type"] == "TEXT"

    for reader in (doctor, patient):
        listing = await list_messages(client, reader, group_id)
        assert listing.status_code == 200
        body = listing.json()
        assert body["total"] == 3 and body["page"] == 1 and body["page_size"] == 20
        assert [m["msg_content"] for m in body["messages"][:2]] == [
            "Take them after meals, please",
            "I feel dizzy after the new pills",
        ]
        join = body["messages"][2]
        assert (join["seq"], join["msg_type"], join["from_user_id"]) == (
            1,
            "SYSTEM",
            doctor.user_id,
        )
        one = await client.get(f"/api/message/{question['message_id']}", headers=reader.headers)
        assert one.status_code == 200
        assert one.json() == question

    detail = await client.get(f"/api/group/{group_id}", headers=patient.headers)
    assert detail.status_code == 200
    assert detail.json()["member_count"] == 2 and detail.json()["last_seq"] == 3

    mine = await my_groups(client, patient)
    assert list(mine) == [group_id]
    assert mine[group_id]["last_message"]["message_id"] == answer["message_id"]
    assert mine[group_id]["unread_count"] == 1
    assert mine[group_id]["my_role"] == "PATIENT"
