"""Edits and recalls over HTTP (SPEC §11): each appends an EDIT or RECALL entry with the next
seq and changes the target's current state in the same transaction; every refusal appends
nothing."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.changes import backdate, edit, get_message, log, recall, revisions
from tests.factories import (
    add_member,
    assert_error,
    consultation,
    create_group,
    create_user,
    list_messages,
    send_ok,
)


async def last_seq(client: httpx.AsyncClient, user: Any, group_id: str) -> int:
    response = await client.get(f"/api/group/{group_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    seq: int = response.json()["last_seq"]
    return seq


async def test_an_edit_appends_an_entry_and_changes_the_target(
    client: httpx.AsyncClient,
) -> None:
    room = await consultation(client)
    sent = await send_ok(client, room.patient, room.group_id, "I have a headahce")
    response = await edit(client, room.patient, sent["message_id"], "I have a headache")
    assert response.status_code == 200, response.text
    target = response.json()
    assert {k: target[k] for k in ("message_id", "seq", "msg_type", "msg_content")} == {
        "message_id": sent["message_id"],
        "seq": sent["seq"],
        "msg_type": "TEXT",
        "msg_content": "I have a headache",
    }
    assert target["edited_at"] is not None and target["recalled_at"] is None

    entries = await log(client, room.doctor, room.group_id)
    entry = entries[-1]
    assert [m["seq"] for m in entries] == list(range(1, len(entries) + 1))
    assert entry["seq"] == sent["seq"] + 1
    assert (entry["msg_type"], entry["msg_content"], entry["target_message_id"]) == (
        "EDIT",
        "I have a headache",
        sent["message_id"],
    )
    assert (entry["from_user_id"], entry["from_user_role"]) == (room.patient.user_id, "PATIENT")
    assert target["edited_at"] == entry["created_at"]
    # Every read returns the target's current state.
    assert entries[sent["seq"] - 1] == target
    assert await get_message(client, room.doctor, sent["message_id"]) == target
    page = (await list_messages(client, room.doctor, room.group_id)).json()
    assert page["total"] == entry["seq"]
    assert next(m for m in page["messages"] if m["message_id"] == sent["message_id"]) == target


async def test_a_recall_empties_the_target_and_the_edits_that_target_it(
    client: httpx.AsyncClient,
) -> None:
    room = await consultation(client)
    sent = await send_ok(client, room.patient, room.group_id, "my card number is 1234")
    assert (await edit(client, room.patient, sent["message_id"], "card 12345")).status_code == 200
    response = await recall(client, room.patient, sent["message_id"])
    assert response.status_code == 200, response.text
    target = response.json()
    assert target["msg_content"] == "" and target["recalled_at"] is not None
    assert target["edited_at"] is not None

    entries = await log(client, room.doctor, room.group_id)
    edit_entry, recall_entry = entries[-2:]
    assert (recall_entry["msg_type"], recall_entry["msg_content"]) == ("RECALL", "")
    assert recall_entry["target_message_id"] == sent["message_id"]
    assert recall_entry["seq"] == edit_entry["seq"] + 1
    assert target["recalled_at"] == recall_entry["created_at"]
    assert (edit_entry["msg_type"], edit_entry["msg_content"]) == ("EDIT", "")
    assert entries[sent["seq"] - 1] == target
    assert "1234" not in (await list_messages(client, room.doctor, room.group_id)).text
    assert (
        "1234"
        not in (
            await client.get(
                f"/api/message/{edit_entry['message_id']}", headers=room.doctor.headers
            )
        ).text
    )


async def test_the_sender_alone_edits(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    sent = await send_ok(client, room.patient, room.group_id, "mine")
    before = await last_seq(client, room.doctor, room.group_id)
    refused = await edit(client, room.doctor, sent["message_id"], "a doctor's words")
    assert_error(refused, 403, "NOT_THE_SENDER")
    assert await last_seq(client, room.doctor, room.group_id) == before
    assert (await get_message(client, room.patient, sent["message_id"]))["msg_content"] == "mine"


async def test_recall_rights(client: httpx.AsyncClient, app: FastAPI) -> None:
    """The sender within the window; a doctor member at any time; a patient never recalls
    someone else's message (a doctor's, or another patient's)."""
    room = await consultation(client)
    other_patient = await create_user(client, "PATIENT")
    await add_member(client, room.doctor, room.group_id, other_patient)
    advice = await send_ok(client, room.doctor, room.group_id, "take two tablets")
    worry = await send_ok(client, other_patient, room.group_id, "me too")
    for message in (advice, worry):
        assert_error(
            await recall(client, room.patient, message["message_id"]), 403, "NOT_THE_SENDER"
        )

    # A doctor recalls a patient's message long after the sender's window closed.
    await backdate(app, worry["message_id"], minutes=60 * 24 * 30)
    done = await recall(client, room.doctor, worry["message_id"])
    assert done.status_code == 200, done.text
    assert done.json()["recalled_at"] is not None
    entry = (await log(client, room.doctor, room.group_id))[-1]
    assert (entry["msg_type"], entry["from_user_id"], entry["from_user_role"]) == (
        "RECALL",
        room.doctor.user_id,
        "DOCTOR",
    )
    # And their own message at any time.
    await backdate(app, advice["message_id"], minutes=60 * 24 * 30)
    assert (await recall(client, room.doctor, advice["message_id"])).status_code == 200


async def test_the_time_windows(client: httpx.AsyncClient, app: FastAPI) -> None:
    """Defaults: edit within 1,440 minutes, recall within 2."""
    room = await consultation(client)
    early = await send_ok(client, room.patient, room.group_id, "just now")
    late = await send_ok(client, room.patient, room.group_id, "a while ago")
    await backdate(app, early["message_id"], minutes=1.5)
    await backdate(app, late["message_id"], minutes=2.5)
    before = await last_seq(client, room.doctor, room.group_id)
    closed = await recall(client, room.patient, late["message_id"])
    assert_error(closed, 403, "EDIT_WINDOW_CLOSED")
    assert (
        await edit(client, room.patient, late["message_id"], "still editable")
    ).status_code == 200
    assert (await recall(client, room.patient, early["message_id"])).status_code == 200
    assert await last_seq(client, room.doctor, room.group_id) == before + 2

    await backdate(app, late["message_id"], minutes=60 * 24 + 1)
    assert_error(
        await edit(client, room.patient, late["message_id"], "too late"), 403, "EDIT_WINDOW_CLOSED"
    )


@pytest.mark.parametrize(
    "settings_overrides",
    [{"message_edit_window_minutes": 0, "message_recall_window_minutes": 0}],
    indirect=True,
)
async def test_windows_of_zero_close_edits_and_recalls_by_the_sender(
    client: httpx.AsyncClient,
) -> None:
    room = await consultation(client)
    sent = await send_ok(client, room.patient, room.group_id, "final")
    assert_error(
        await edit(client, room.patient, sent["message_id"], "x"), 403, "EDIT_WINDOW_CLOSED"
    )
    assert_error(await recall(client, room.patient, sent["message_id"]), 403, "EDIT_WINDOW_CLOSED")
    assert (await recall(client, room.doctor, sent["message_id"])).status_code == 200


async def test_a_recalled_message_cannot_change_again(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    sent = await send_ok(client, room.patient, room.group_id, "oops")
    assert (await recall(client, room.patient, sent["message_id"])).status_code == 200
    before = await last_seq(client, room.doctor, room.group_id)
    assert_error(await edit(client, room.patient, sent["message_id"], "x"), 409, "MESSAGE_RECALLED")
    assert_error(await recall(client, room.patient, sent["message_id"]), 409, "MESSAGE_RECALLED")
    assert_error(await recall(client, room.doctor, sent["message_id"]), 409, "MESSAGE_RECALLED")
    assert await last_seq(client, room.doctor, room.group_id) == before


async def test_system_messages_and_change_entries_cannot_be_changed(
    client: httpx.AsyncClient,
) -> None:
    room = await consultation(client)
    join = (await log(client, room.doctor, room.group_id))[0]
    assert join["msg_type"] == "SYSTEM" and join["from_user_id"] == room.doctor.user_id
    assert_error(
        await edit(client, room.doctor, join["message_id"], "x"), 422, "MESSAGE_NOT_CHANGEABLE"
    )
    assert_error(
        await recall(client, room.doctor, join["message_id"]), 422, "MESSAGE_NOT_CHANGEABLE"
    )

    sent = await send_ok(client, room.patient, room.group_id, "text")
    await edit(client, room.patient, sent["message_id"], "text, edited")
    await recall(client, room.patient, sent["message_id"])
    edit_entry, recall_entry = (await log(client, room.doctor, room.group_id))[-2:]
    before = await last_seq(client, room.doctor, room.group_id)
    for entry in (edit_entry, recall_entry):
        assert_error(
            await edit(client, room.patient, entry["message_id"], "x"),
            422,
            "MESSAGE_NOT_CHANGEABLE",
        )
        # A recall of a recall (or of an edit), even by a doctor.
        assert_error(
            await recall(client, room.doctor, entry["message_id"]), 422, "MESSAGE_NOT_CHANGEABLE"
        )
    assert await last_seq(client, room.doctor, room.group_id) == before


async def test_unknown_and_foreign_messages_are_the_same_404(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    other_doctor = await create_user(client, "DOCTOR")
    elsewhere = await create_group(client, other_doctor, "elsewhere")
    foreign = await send_ok(client, other_doctor, elsewhere["group_id"], "not yours")
    own = await send_ok(client, room.patient, room.group_id, "mine")

    for message_id in (foreign["message_id"], "msg_doesnotexist"):
        for response in (
            await edit(client, room.doctor, message_id, "x"),
            await recall(client, room.doctor, message_id),
            await client.get(f"/api/message/{message_id}", headers=room.doctor.headers),
        ):
            error = assert_error(response, 404, "MESSAGE_NOT_FOUND")
            assert "not yours" not in response.text
            assert error["message"] == f"Message {message_id} not found"
    # Someone who left the group: their own message is out of reach too.
    removed = await client.delete(
        f"/api/group/{room.group_id}/members/{room.patient.user_id}", headers=room.doctor.headers
    )
    assert removed.status_code == 204
    assert_error(await edit(client, room.patient, own["message_id"], "x"), 404, "MESSAGE_NOT_FOUND")
    assert_error(await recall(client, room.patient, own["message_id"]), 404, "MESSAGE_NOT_FOUND")


async def test_bad_edit_bodies_are_422(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    sent = await send_ok(client, room.patient, room.group_id, "short")
    for body in ({"content": ""}, {"content": "x" * 5001}, {}, {"content": "x", "extra": 1}):
        response = await client.patch(
            f"/api/message/{sent['message_id']}", json=body, headers=room.patient.headers
        )
        assert_error(response, 422)
    assert_error(await edit(client, room.patient, "not an id!", "x"), 422)
    assert (await edit(client, room.patient, sent["message_id"], "x" * 5000)).status_code == 200


async def test_changes_need_a_signed_in_member(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    sent = await send_ok(client, room.patient, room.group_id, "hello")
    anonymous = await client.patch(f"/api/message/{sent['message_id']}", json={"content": "x"})
    assert_error(anonymous, 401)
    assert_error(await client.post(f"/api/message/{sent['message_id']}/recall"), 401)


async def test_revisions_keep_every_earlier_content_for_the_service_key_only(
    client: httpx.AsyncClient,
) -> None:
    room = await consultation(client)
    sent = await send_ok(client, room.patient, room.group_id, "version 1")
    for content in ("version 2", "version 3"):
        assert (await edit(client, room.patient, sent["message_id"], content)).status_code == 200
    assert (await recall(client, room.doctor, sent["message_id"])).status_code == 200
    entries = (await log(client, room.doctor, room.group_id))[-3:]

    response = await revisions(client, sent["message_id"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"]["msg_content"] == "" and body["message"]["recalled_at"] is not None
    assert [
        (r["msg_content"], r["change_type"], r["change_message_id"], r["changed_by"])
        for r in body["revisions"]
    ] == [
        ("version 1", "EDIT", entries[0]["message_id"], room.patient.user_id),
        ("version 2", "EDIT", entries[1]["message_id"], room.patient.user_id),
        ("version 3", "RECALL", entries[2]["message_id"], room.doctor.user_id),
    ]
    assert [r["replaced_at"] for r in body["revisions"]] == [e["created_at"] for e in entries]

    untouched = await send_ok(client, room.patient, room.group_id, "never changed")
    assert (await revisions(client, untouched["message_id"])).json()["revisions"] == []
    for user in (room.patient, room.doctor):
        assert_error(
            await revisions(client, sent["message_id"], user.headers), 403, "SERVICE_KEY_REQUIRED"
        )
    assert_error(await revisions(client, sent["message_id"], {}), 401)
    assert_error(await revisions(client, sent["message_id"], {"X-API-Key": "wrong"}), 401)
    assert_error(await revisions(client, "msg_doesnotexist"), 404, "MESSAGE_NOT_FOUND")


async def test_changes_are_never_unread_nor_the_last_message(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    groups = await client.get("/api/group/list", headers=room.doctor.headers)
    mark = next(g for g in groups.json() if g["group_id"] == room.group_id)["last_seq"]
    assert (
        await client.post(
            "/api/message/read",
            json={"group_id": room.group_id, "seq": mark},
            headers=room.doctor.headers,
        )
    ).status_code == 200
    first = await send_ok(client, room.patient, room.group_id, "first")
    second = await send_ok(client, room.patient, room.group_id, "second")
    await edit(client, room.patient, second["message_id"], "second, edited")
    await edit(client, room.patient, first["message_id"], "first, edited")

    summary = await group_summary(client, room.doctor, room.group_id)
    assert summary["unread_count"] == 2
    assert summary["last_seq"] == second["seq"] + 2
    last = summary["last_message"]
    assert (last["message_id"], last["msg_content"]) == (second["message_id"], "second, edited")
    assert last["edited_at"] is not None

    await recall(client, room.patient, second["message_id"])
    summary = await group_summary(client, room.doctor, room.group_id)
    assert summary["unread_count"] == 2
    last = summary["last_message"]
    assert (last["message_id"], last["msg_content"]) == (second["message_id"], "")
    assert last["recalled_at"] is not None
    # The patient's own changes are not unread for the patient either.
    assert (await group_summary(client, room.patient, room.group_id))["unread_count"] == 0
    # A doctor recalling the patient's message: an entry by someone else, still not unread.
    await recall(client, room.doctor, first["message_id"])
    assert (await group_summary(client, room.patient, room.group_id))["unread_count"] == 0


async def group_summary(client: httpx.AsyncClient, user: Any, group_id: str) -> dict[str, Any]:
    response = await client.get("/api/group/list", headers=user.headers)
    assert response.status_code == 200, response.text
    summary: dict[str, Any] = next(g for g in response.json() if g["group_id"] == group_id)
    return summary
