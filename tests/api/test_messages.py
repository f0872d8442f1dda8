"""Sending and reading single messages (SPEC §5): validation, permissions, idempotency."""

from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.factories import (
    add_member,
    assert_error,
    consultation,
    create_user,
    list_messages,
    send,
    send_ok,
)

MESSAGE_FIELDS = {
    "message_id",
    "group_id",
    "seq",
    "from_user_id",
    "from_user_role",
    "msg_type",
    "msg_content",
    "client_msg_id",
    "created_at",
    "reply_to",
    "mentions",
    "attachment",
    "target_message_id",
    "edited_at",
    "recalled_at",
}


async def total(client: httpx.AsyncClient, room_reader: Any, group_id: str) -> int:
    response = await list_messages(client, room_reader, group_id)
    assert response.status_code == 200
    value: int = response.json()["total"]
    return value


async def test_send_returns_the_stored_message(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    response = await send(client, room.patient, room.group_id, "hello doctor", client_msg_id="c1")
    assert response.status_code == 201
    message = response.json()
    assert set(message) == MESSAGE_FIELDS
    assert message["message_id"].startswith("msg_")
    assert (message["group_id"], message["seq"], message["from_user_id"]) == (
        room.group_id,
        2,
        room.patient.user_id,
    )
    assert (message["from_user_role"], message["msg_type"], message["msg_content"]) == (
        "PATIENT",
        "TEXT",
        "hello doctor",
    )
    assert message["client_msg_id"] == "c1"
    assert datetime.fromisoformat(message["created_at"]).tzinfo is not None
    assert (message["reply_to"], message["mentions"], message["attachment"]) == (None, [], None)
    assert (message["target_message_id"], message["edited_at"], message["recalled_at"]) == (
        None,
        None,
        None,
    )
    without_id = await send_ok(client, room.patient, room.group_id, "again")
    assert without_id["client_msg_id"] is None and without_id["seq"] == 3


async def test_content_is_stored_verbatim(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    for content in ("  padded  ", "line\nbreak", "血压 120/80 🩺", '{"json": true}', "<b>x</b>"):
        sent = await send_ok(client, room.patient, room.group_id, content)
        fetched = await client.get(
            f"/api/message/{sent['message_id']}", headers=room.doctor.headers
        )
        assert fetched.json()["msg_content"] == content


async def test_content_length_boundaries(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    for size in (1, 5000):
        sent = await send_ok(client, room.patient, room.group_id, "x" * size)
        assert len(sent["msg_content"]) == size
    for size in (0, 5001):
        response = await send(client, room.patient, room.group_id, "x" * size)
        error = assert_error(response, 422, "VALIDATION_ERROR")
        assert any("content" in detail["loc"] for detail in error["details"])
    assert await total(client, room.patient, room.group_id) == 3


@pytest.mark.parametrize(
    "body",
    [
        {"content": "hi"},
        {"group_id": "", "content": "hi"},
        {"group_id": "{group}"},
        {"group_id": "{group}", "content": None},
        {"group_id": "{group}", "content": 5},
        {"group_id": "{group}", "content": "hi", "client_msg_id": ""},
        {"group_id": "{group}", "content": "hi", "client_msg_id": "c" * 65},
        {"group_id": "{group}", "content": "hi", "msg_type": "SYSTEM"},
        {"group_id": "{group}", "content": "hi", "seq": 1},
    ],
    ids=[
        "no-group",
        "empty-group",
        "no-content",
        "null-content",
        "number-content",
        "empty-client-id",
        "long-client-id",
        "system-type",
        "seq-given",
    ],
)
async def test_send_validation(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    room = await consultation(client)
    payload = {
        k: v.format(group=room.group_id) if isinstance(v, str) else v for k, v in body.items()
    }
    response = await client.post("/api/message/send", json=payload, headers=room.patient.headers)
    assert_error(response, 422, "VALIDATION_ERROR")
    assert await total(client, room.patient, room.group_id) == 1


async def test_from_user_role_is_the_role_in_the_group(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    specialist = await create_user(client, "PATIENT")
    await add_member(client, room.doctor, room.group_id, specialist, role="DOCTOR")
    sent = await send_ok(client, specialist, room.group_id, "as the group's doctor")
    assert sent["from_user_role"] == "DOCTOR"
    # Stored with the message: a later change of the system role does not rewrite history.
    await client.put(
        f"/api/user/{specialist.user_id}/role",
        json={"user_role": "DOCTOR"},
        headers={"X-API-Key": "test-service-key"},
    )
    fetched = await client.get(f"/api/message/{sent['message_id']}", headers=room.patient.headers)
    assert fetched.json()["from_user_role"] == "DOCTOR"


async def test_non_member_cannot_send(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    for role in ("PATIENT", "DOCTOR"):
        outsider = await create_user(client, role)
        response = await send(client, outsider, room.group_id, "let me in")
        assert_error(response, 403, "NOT_A_MEMBER")
    assert await total(client, room.doctor, room.group_id) == 1
    group = await client.get(f"/api/group/{room.group_id}", headers=room.doctor.headers)
    assert group.json()["last_seq"] == 1


async def test_send_to_unknown_group_is_404(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    assert_error(await send(client, user, "group_nope", "hi"), 404, "GROUP_NOT_FOUND")


async def test_idempotent_send(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    first = await send(client, room.patient, room.group_id, "once", client_msg_id="retry-1")
    again = await send(client, room.patient, room.group_id, "once", client_msg_id="retry-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    # Even a replay with different content returns the original, untouched.
    other = await send(client, room.patient, room.group_id, "changed", client_msg_id="retry-1")
    assert other.status_code == 200 and other.json() == first.json()
    assert await total(client, room.doctor, room.group_id) == 2
    group = await client.get(f"/api/group/{room.group_id}", headers=room.doctor.headers)
    assert group.json()["last_seq"] == 2


async def test_same_client_msg_id_from_another_user_is_another_message(
    client: httpx.AsyncClient,
) -> None:
    room = await consultation(client)
    mine = await send(client, room.patient, room.group_id, "a", client_msg_id="shared")
    theirs = await send(client, room.doctor, room.group_id, "b", client_msg_id="shared")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["message_id"] != theirs.json()["message_id"]
    assert theirs.json()["from_user_id"] == room.doctor.user_id
    assert await total(client, room.doctor, room.group_id) == 3


async def test_get_message(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    sent = await send_ok(client, room.patient, room.group_id, "lookup")
    for reader in (room.doctor, room.patient):
        response = await client.get(f"/api/message/{sent['message_id']}", headers=reader.headers)
        assert response.status_code == 200
        assert response.json() == sent


async def test_get_message_answers_outsiders_as_if_it_did_not_exist(
    client: httpx.AsyncClient,
) -> None:
    room = await consultation(client)
    sent = await send_ok(client, room.patient, room.group_id, "private")
    outsider = await create_user(client, "DOCTOR")
    response = await client.get(f"/api/message/{sent['message_id']}", headers=outsider.headers)
    error = assert_error(response, 404, "MESSAGE_NOT_FOUND")
    assert "private" not in response.text
    missing = await client.get("/api/message/msg_nope", headers=room.doctor.headers)
    assert assert_error(missing, 404, "MESSAGE_NOT_FOUND")["message"] == error["message"].replace(
        sent["message_id"], "msg_nope"
    )


async def test_former_member_can_no_longer_read_messages(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    sent = await send_ok(client, room.doctor, room.group_id, "before you left")
    await client.delete(
        f"/api/group/{room.group_id}/members/{room.patient.user_id}", headers=room.patient.headers
    )
    response = await client.get(f"/api/message/{sent['message_id']}", headers=room.patient.headers)
    assert_error(response, 404, "MESSAGE_NOT_FOUND")
    assert_error(await list_messages(client, room.patient, room.group_id), 403, "NOT_A_MEMBER")


async def test_list_is_not_shadowed_by_the_message_id_route(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    listing = await client.get(
        "/api/message/list", params={"group_id": room.group_id}, headers=room.doctor.headers
    )
    assert listing.status_code == 200
    assert set(listing.json()) == {"messages", "total", "page", "page_size"}
    # Without its query the list route answers 422, not a "message 'list' not found" 404.
    bare = await client.get("/api/message/list", headers=room.doctor.headers)
    assert_error(bare, 422, "VALIDATION_ERROR")


async def test_list_refused_to_outsiders_and_unknown_group(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    outsider = await create_user(client)
    for params in ({}, {"after_seq": 0}, {"before_seq": 5}):
        assert_error(
            await list_messages(client, outsider, room.group_id, **params), 403, "NOT_A_MEMBER"
        )
        assert_error(
            await list_messages(client, outsider, "group_nope", **params), 404, "GROUP_NOT_FOUND"
        )
