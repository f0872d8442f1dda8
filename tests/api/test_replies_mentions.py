"""Replies and mentions on send (SPEC §11): a reply names a message of the same group, mentions
name at most 50 of its members; a refused send stores nothing."""

import httpx

from tests.changes import edit, get_message, log
from tests.factories import (
    add_member,
    assert_error,
    consultation,
    create_group,
    create_user,
    list_messages,
    send,
    send_ok,
)


async def test_a_reply_with_mentions_is_stored_and_read_back(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    question = await send_ok(client, room.patient, room.group_id, "Is this serious?")
    answer = await send_ok(
        client,
        room.doctor,
        room.group_id,
        "No, but come in on Monday",
        reply_to=question["message_id"],
        mentions=[room.patient.user_id, room.doctor.user_id, room.patient.user_id],
    )
    assert answer["reply_to"] == question["message_id"]
    assert answer["mentions"] == [room.patient.user_id, room.doctor.user_id]
    assert await get_message(client, room.patient, answer["message_id"]) == answer
    assert (await log(client, room.patient, room.group_id))[-1] == answer
    page = (await list_messages(client, room.patient, room.group_id)).json()["messages"]
    assert page[0] == answer


async def test_reply_to_must_be_a_message_of_the_group(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    other_doctor = await create_user(client, "DOCTOR")
    elsewhere = await create_group(client, other_doctor, "elsewhere")
    foreign = await send_ok(client, other_doctor, elsewhere["group_id"], "other group")
    sent = await send_ok(client, room.patient, room.group_id, "to be edited")
    await edit(client, room.patient, sent["message_id"], "edited")
    edit_entry = (await log(client, room.doctor, room.group_id))[-1]
    before = len(await log(client, room.doctor, room.group_id))

    for reply_to in (foreign["message_id"], "msg_doesnotexist", edit_entry["message_id"]):
        refused = await send(client, room.patient, room.group_id, "re", reply_to=reply_to)
        error = assert_error(refused, 422, "INVALID_REPLY")
        assert "other group" not in refused.text and reply_to in error["message"]
    assert len(await log(client, room.doctor, room.group_id)) == before
    assert_error(await send(client, room.patient, room.group_id, "re", reply_to="bad id!"), 422)
    # A reply to a SYSTEM line of the group is fine.
    join = (await log(client, room.doctor, room.group_id))[0]
    assert (
        await send(client, room.patient, room.group_id, "hi", reply_to=join["message_id"])
    ).status_code == 201


async def test_mentions_must_be_members(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    outsider = await create_user(client, "PATIENT")
    before = len(await log(client, room.doctor, room.group_id))
    refused = await send(
        client,
        room.patient,
        room.group_id,
        "hey",
        mentions=[room.doctor.user_id, outsider.user_id, "user_nobody"],
    )
    error = assert_error(refused, 422, "INVALID_MENTION")
    assert error["details"] == {"not_members": [outsider.user_id, "user_nobody"]}
    assert len(await log(client, room.doctor, room.group_id)) == before

    await add_member(client, room.doctor, room.group_id, outsider)
    sent = await send_ok(client, room.patient, room.group_id, "hey", mentions=[outsider.user_id])
    assert sent["mentions"] == [outsider.user_id]


async def test_at_most_fifty_mentions(client: httpx.AsyncClient) -> None:
    doctor = await create_user(client, "DOCTOR")
    group_id = (await create_group(client, doctor))["group_id"]
    patients = [await create_user(client, "PATIENT") for _ in range(50)]
    for patient in patients:
        await add_member(client, doctor, group_id, patient)
    everyone = [p.user_id for p in patients]
    sent = await send_ok(client, doctor, group_id, "all of you", mentions=everyone)
    assert sent["mentions"] == everyone
    refused = await send(client, doctor, group_id, "and me", mentions=[*everyone, doctor.user_id])
    assert_error(refused, 422, "INVALID_MENTION")
