"""Replies, mentions, edits and recalls over WebSocket (SPEC §11): answered like sends, pushed
as `message` events, and a client that was offline converges through `sync`."""

from typing import Any

import httpx

from tests.changes import apply_entry, edit, get_message, recall
from tests.factories import consultation, send_ok
from tests.websocket.wsclient import Connect, Event, WSClient


async def sync_all(client: WSClient, group_id: str, after_seq: int) -> list[dict[str, Any]]:
    """Every message after `after_seq`, through `sync` pages."""
    messages: list[dict[str, Any]] = []
    while True:
        page = await client.request(
            {"type": "sync", "cursors": {group_id: after_seq}}, "sync_result"
        )
        messages += page["messages"]
        if not page["has_more"]:
            return messages
        after_seq = page["messages"][-1]["seq"]


async def pushed(client: WSClient, message_id: str) -> dict[str, Any]:
    event, _ = await client.until(
        lambda e: e.get("type") == "message" and e["message"]["message_id"] == message_id
    )
    message: dict[str, Any] = event["message"]
    return message


async def test_send_with_reply_and_mentions(ws: Connect, live_client: httpx.AsyncClient) -> None:
    room = await consultation(live_client)
    question = await send_ok(live_client, room.patient, room.group_id, "Can I run?")
    doctor = await ws(room.doctor)
    patient = await ws(room.patient)
    sent = await doctor.request(
        {
            "type": "send_message",
            "group_id": room.group_id,
            "content": "Not this week",
            "client_msg_id": "d-1",
            "reply_to": question["message_id"],
            "mentions": [room.patient.user_id],
        },
        "message_sent",
    )
    message = sent["message"]
    assert (message["reply_to"], message["mentions"]) == (
        question["message_id"],
        [room.patient.user_id],
    )
    assert await pushed(patient, message["message_id"]) == message

    refused = await doctor.request(
        {
            "type": "send_message",
            "group_id": room.group_id,
            "content": "x",
            "client_msg_id": "d-2",
            "mentions": ["user_nobody"],
        },
        "error",
    )
    assert (refused["code"], refused["client_msg_id"]) == ("INVALID_MENTION", "d-2")
    bad_reply = await doctor.request(
        {
            "type": "send_message",
            "group_id": room.group_id,
            "content": "x",
            "client_msg_id": "d-3",
            "reply_to": "msg_nope",
        },
        "error",
    )
    assert (bad_reply["code"], bad_reply["client_msg_id"]) == ("INVALID_REPLY", "d-3")


async def test_edit_and_recall_are_answered_like_sends(
    ws: Connect, live_client: httpx.AsyncClient
) -> None:
    room = await consultation(live_client)
    original = await send_ok(live_client, room.patient, room.group_id, "helo")
    patient = await ws(room.patient)
    patient_tablet = await ws(room.patient)
    doctor = await ws(room.doctor)

    edited = await patient.request(
        {
            "type": "edit_message",
            "message_id": original["message_id"],
            "content": "hello",
            "client_msg_id": "e-1",
        },
        "message_sent",
    )
    entry = edited["message"]
    assert edited["client_msg_id"] == "e-1"
    assert (entry["msg_type"], entry["msg_content"], entry["target_message_id"]) == (
        "EDIT",
        "hello",
        original["message_id"],
    )
    assert (entry["seq"], entry["client_msg_id"]) == (original["seq"] + 1, "e-1")
    for other in (doctor, patient_tablet):
        assert await pushed(other, entry["message_id"]) == entry

    # A replay of the same edit is answered with the same entry and appends nothing.
    again = await patient.request(
        {
            "type": "edit_message",
            "message_id": original["message_id"],
            "content": "hello",
            "client_msg_id": "e-1",
        },
        "message_sent",
    )
    assert again["message"] == entry

    recalled = await patient.request(
        {"type": "recall_message", "message_id": original["message_id"], "client_msg_id": "r-1"},
        "message_sent",
    )
    recall_entry = recalled["message"]
    assert (recall_entry["msg_type"], recall_entry["msg_content"]) == ("RECALL", "")
    assert recall_entry["seq"] == entry["seq"] + 1
    assert await pushed(doctor, recall_entry["message_id"]) == recall_entry
    # The sending connection got `message_sent`, never its own entries as `message`.
    assert [e for e in await patient.silent(0.2) if e.get("type") == "message"] == []


async def test_refused_changes_are_error_events_echoing_the_client_msg_id(
    ws: Connect, live_client: httpx.AsyncClient
) -> None:
    room = await consultation(live_client)
    advice = await send_ok(live_client, room.doctor, room.group_id, "rest")
    patient = await ws(room.patient)
    doctor = await ws(room.doctor)

    async def refused(frame: Event) -> tuple[str, str | None]:
        error = await patient.request(frame, "error")
        return error["code"], error.get("client_msg_id")

    target = advice["message_id"]
    assert await refused(
        {"type": "edit_message", "message_id": target, "content": "x", "client_msg_id": "p1"}
    ) == ("NOT_THE_SENDER", "p1")
    assert await refused(
        {"type": "recall_message", "message_id": target, "client_msg_id": "p2"}
    ) == ("NOT_THE_SENDER", "p2")
    assert await refused(
        {"type": "recall_message", "message_id": "msg_nope", "client_msg_id": "p3"}
    ) == ("MESSAGE_NOT_FOUND", "p3")
    assert await refused(
        {"type": "edit_message", "message_id": target, "content": "", "client_msg_id": "p4"}
    ) == ("VALIDATION_ERROR", "p4")
    assert await refused({"type": "edit_message", "message_id": target, "content": "x" * 5001}) == (
        "VALIDATION_ERROR",
        None,
    )

    await doctor.request({"type": "recall_message", "message_id": target}, "message_sent")
    again = await doctor.request(
        {"type": "recall_message", "message_id": target, "client_msg_id": "d1"}, "error"
    )
    assert (again["code"], again["client_msg_id"]) == ("MESSAGE_RECALLED", "d1")
    await patient.ping()


async def test_an_offline_client_converges_through_sync(
    ws: Connect, live_client: httpx.AsyncClient
) -> None:
    """The doctor holds a message, goes offline during three edits and a recall, and comes
    back: applying what `sync` returns gives the message's current state, and a fresh `sync`
    returns that state directly."""
    room = await consultation(live_client)
    doctor = await ws(room.doctor)
    sent = await send_ok(live_client, room.patient, room.group_id, "draft 1")
    held = await pushed(doctor, sent["message_id"])
    await doctor.close()

    patient = await ws(room.patient)
    for content in ("draft 2", "draft 3"):
        assert (
            await edit(live_client, room.patient, sent["message_id"], content)
        ).status_code == 200
    await patient.request(
        {"type": "edit_message", "message_id": sent["message_id"], "content": "draft 4"},
        "message_sent",
    )
    after_edits = await get_message(live_client, room.patient, sent["message_id"])
    assert (await recall(live_client, room.patient, sent["message_id"])).status_code == 200

    back = await ws(room.doctor)
    missed = await sync_all(back, room.group_id, held["seq"])
    assert [m["msg_type"] for m in missed] == ["EDIT", "EDIT", "EDIT", "RECALL"]
    assert [m["seq"] for m in missed] == list(range(held["seq"] + 1, held["seq"] + 5))
    assert {m["target_message_id"] for m in missed} == {sent["message_id"]}
    # Entries that target a recalled message are served empty.
    assert [m["msg_content"] for m in missed] == ["", "", "", ""]
    state = held
    for entry in missed:
        state = apply_entry(state, entry)
    current = await get_message(live_client, room.doctor, sent["message_id"])
    assert state == current
    assert current["edited_at"] == after_edits["edited_at"] == missed[2]["created_at"]
    assert current["recalled_at"] == missed[3]["created_at"]

    fresh = await sync_all(back, room.group_id, 0)
    assert fresh[held["seq"] - 1] == current
    assert "draft" not in str(fresh)


async def test_an_offline_client_converges_on_edits(
    ws: Connect, live_client: httpx.AsyncClient
) -> None:
    room = await consultation(live_client)
    doctor = await ws(room.doctor)
    sent = await send_ok(live_client, room.patient, room.group_id, "v1")
    held = await pushed(doctor, sent["message_id"])
    await doctor.close()
    for content in ("v2", "v3", "v4"):
        assert (
            await edit(live_client, room.patient, sent["message_id"], content)
        ).status_code == 200

    back = await ws(room.doctor)
    missed = await sync_all(back, room.group_id, held["seq"])
    assert [(m["msg_type"], m["msg_content"]) for m in missed] == [
        ("EDIT", "v2"),
        ("EDIT", "v3"),
        ("EDIT", "v4"),
    ]
    state = held
    for entry in missed:
        state = apply_entry(state, entry)
    assert state == await get_message(live_client, room.doctor, sent["message_id"])
    assert state["msg_content"] == "v4"
