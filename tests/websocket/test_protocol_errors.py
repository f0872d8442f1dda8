"""Bad client frames (SPEC §6): each gets an `error` event with a stable code and the socket stays
usable; a frame over 64 KiB closes the socket with 1009."""

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import LiveServer
from tests.factories import Consultation, consultation, create_user, list_messages, send_ok
from tests.websocket.wsclient import Connect, WSClient, open_raw

LIMIT = 64 * 1024


@pytest.fixture
async def room(live_client: httpx.AsyncClient) -> Consultation:
    return await consultation(live_client)


@pytest.fixture
async def patient(ws: Connect, room: Consultation) -> WSClient:
    return await ws(room.patient)


RAW_FRAMES = [
    ("not json", "INVALID_JSON"),
    ("{'type': 'ping'}", "INVALID_JSON"),
    ('{"type": "ping"', "INVALID_JSON"),
    ("", "INVALID_JSON"),
    ("[]", "UNKNOWN_TYPE"),
    ('"ping"', "UNKNOWN_TYPE"),
    ("42", "UNKNOWN_TYPE"),
    ("null", "UNKNOWN_TYPE"),
    ("{}", "UNKNOWN_TYPE"),
    ('{"group_id": "g"}', "UNKNOWN_TYPE"),
    ('{"type": "shout"}', "UNKNOWN_TYPE"),
    ('{"type": null}', "UNKNOWN_TYPE"),
    ('{"type": ["ping"]}', "UNKNOWN_TYPE"),
    ('{"type": {"ping": 1}}', "UNKNOWN_TYPE"),
    ('{"type": 1}', "UNKNOWN_TYPE"),
    ('{"type": "PING"}', "UNKNOWN_TYPE"),
    ('{"type": "message"}', "UNKNOWN_TYPE"),
]


async def test_malformed_frames_get_an_error_and_the_socket_stays_open(patient: WSClient) -> None:
    for frame, code in RAW_FRAMES:
        await patient.send_raw(frame)
        error = await patient.recv()
        assert error["type"] == "error" and error["code"] == code, (frame, error)
        assert isinstance(error["message"], str) and error["message"]
        await patient.ping()


async def test_binary_frames_are_refused(patient: WSClient) -> None:
    await patient.send_raw(json.dumps({"type": "ping"}).encode())
    error = await patient.recv()
    assert (error["type"], error["code"]) == ("error", "UNSUPPORTED_FRAME")
    await patient.ping()


def send_frame(room: Consultation, **fields: Any) -> dict[str, Any]:
    return {"type": "send_message", "group_id": room.group_id, **fields}


async def test_invalid_send_message_events(
    patient: WSClient, room: Consultation, live_client: httpx.AsyncClient
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        (send_frame(room, content="", client_msg_id="e1"), "VALIDATION_ERROR"),
        (send_frame(room, content="x" * 5001, client_msg_id="e2"), "VALIDATION_ERROR"),
        (send_frame(room, client_msg_id="e3"), "VALIDATION_ERROR"),
        (send_frame(room, content=7, client_msg_id="e4"), "VALIDATION_ERROR"),
        (send_frame(room, content="hi", client_msg_id="e5", extra=1), "VALIDATION_ERROR"),
        (send_frame(room, content="hi", client_msg_id=""), "VALIDATION_ERROR"),
        ({"type": "send_message", "content": "hi", "client_msg_id": "e7"}, "VALIDATION_ERROR"),
        (
            {
                "type": "send_message",
                "group_id": "group_nope",
                "content": "hi",
                "client_msg_id": "e8",
            },
            "GROUP_NOT_FOUND",
        ),
    ]
    for frame, code in cases:
        error = await patient.request(frame, "error")
        assert error["code"] == code, (frame, error)
        if frame.get("client_msg_id"):
            assert error["client_msg_id"] == frame["client_msg_id"]
        await patient.ping()
    # Nothing of that was stored.
    listing = await list_messages(live_client, room.doctor, room.group_id)
    assert listing.json()["total"] == 1
    boundary = await patient.request(
        send_frame(room, content="y" * 5000, client_msg_id="ok"), "message_sent"
    )
    assert len(boundary["message"]["msg_content"]) == 5000


async def test_sending_to_a_group_of_others_is_refused(
    ws: Connect, live_client: httpx.AsyncClient, room: Consultation
) -> None:
    outsider = await ws(await create_user(live_client, "DOCTOR"))
    error = await outsider.request(
        {"type": "send_message", "group_id": room.group_id, "content": "hi", "client_msg_id": "x"},
        "error",
    )
    assert (error["code"], error["client_msg_id"]) == ("NOT_A_MEMBER", "x")
    for frame, code in (
        ({"type": "typing", "group_id": room.group_id}, "NOT_A_MEMBER"),
        ({"type": "read", "group_id": room.group_id, "seq": 1}, "NOT_A_MEMBER"),
        ({"type": "read", "group_id": "group_nope", "seq": 0}, "GROUP_NOT_FOUND"),
    ):
        error = await outsider.request(frame, "error")
        assert error["code"] == code, frame
    await outsider.ping()


async def test_invalid_read_and_typing_events(patient: WSClient, room: Consultation) -> None:
    for frame, code in (
        ({"type": "read", "group_id": room.group_id, "seq": 99}, "INVALID_SEQ"),
        ({"type": "read", "group_id": room.group_id, "seq": -1}, "VALIDATION_ERROR"),
        ({"type": "read", "group_id": room.group_id}, "VALIDATION_ERROR"),
        ({"type": "typing"}, "VALIDATION_ERROR"),
        ({"type": "ping", "extra": True}, "VALIDATION_ERROR"),
    ):
        error = await patient.request(frame, "error")
        assert error["code"] == code, frame
    await patient.ping()


async def test_a_long_client_msg_id_is_not_echoed(patient: WSClient, room: Consultation) -> None:
    error = await patient.request(send_frame(room, content="hi", client_msg_id="c" * 65), "error")
    assert error["code"] == "VALIDATION_ERROR"
    assert "client_msg_id" not in error


async def test_frame_at_the_size_limit_is_read(patient: WSClient) -> None:
    frame = '{"type": "ping"}' + " " * (LIMIT - len('{"type": "ping"}'))
    assert len(frame.encode()) == LIMIT
    await patient.send_raw(frame)
    assert (await patient.recv())["type"] == "pong"


async def test_oversized_frame_closes_with_1009(
    live_server: LiveServer, live_client: httpx.AsyncClient, room: Consultation
) -> None:
    connection = await open_raw(live_server.ws_url(room.patient.user_id, room.patient.token))
    client = WSClient(connection, room.patient)
    assert (await client.recv())["type"] == "connected"
    await client.send_raw(json.dumps({"type": "ping", "pad": "x" * LIMIT}))
    assert await client.closed_code() == 1009
    # The server survives and serves the user again.
    again = WSClient(await open_raw(live_server.ws_url(room.patient.user_id, room.patient.token)))
    assert (await again.recv())["type"] == "connected"
    await again.ping()
    await send_ok(live_client, room.doctor, room.group_id, "still alive")
    await again.message("still alive")
    await again.close()


async def test_oversized_multibyte_frame_closes_with_1009(
    live_server: LiveServer, room: Consultation
) -> None:
    """The limit is in bytes: 30 000 three-byte characters are over 64 KiB."""
    connection = await open_raw(live_server.ws_url(room.patient.user_id, room.patient.token))
    client = WSClient(connection, room.patient)
    assert (await client.recv())["type"] == "connected"
    await client.send_raw(json.dumps({"type": "ping", "pad": "血" * 30_000}, ensure_ascii=False))
    assert await client.closed_code() == 1009


async def test_many_errors_in_a_row_do_not_close_the_socket(patient: WSClient) -> None:
    for _ in range(50):
        await patient.send_raw("}{")
    for _ in range(50):
        assert (await asyncio.wait_for(patient.recv(), 5))["code"] == "INVALID_JSON"
    await patient.ping()


async def test_client_closing_mid_stream_is_clean(
    ws: Connect, live_server: LiveServer, room: Consultation
) -> None:
    client = await ws(room.patient)
    await client.send({"type": "ping"})
    await client.close()
    with pytest.raises(ConnectionClosed):
        await client.connection.send("x")
    doctor = await ws(room.doctor)
    await doctor.ping()
