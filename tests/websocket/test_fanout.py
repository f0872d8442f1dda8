"""Message fan-out (SPEC §6): every connection of every member, the sender's connection gets
`message_sent` instead, nobody else gets anything, and only committed messages are pushed."""

import asyncio
import itertools

import httpx
import pytest

from tests.factories import (
    TestUser,
    add_member,
    consultation,
    create_group,
    create_user,
    list_messages,
    send,
    send_ok,
)
from tests.websocket.wsclient import Connect, Event, types

_barriers = itertools.count(1)


async def barrier(http: httpx.AsyncClient, author: TestUser, group_id: str) -> str:
    """Send a marker message; every event pushed before it reaches a connection earlier."""
    content = f"barrier-{next(_barriers)}"
    await send_ok(http, author, group_id, content)
    return content


def message_contents(events: list[Event]) -> list[str]:
    return [e["message"]["msg_content"] for e in events if e.get("type") == "message"]


async def test_message_reaches_every_connection_of_every_member_and_no_one_else(
    ws: Connect, live_client: httpx.AsyncClient
) -> None:
    room = await consultation(live_client)
    other_patient = await create_user(live_client)
    await add_member(live_client, room.doctor, room.group_id, other_patient)
    outsider = await create_user(live_client, "DOCTOR")
    outsider_group = await create_group(live_client, outsider, "elsewhere")

    sender = await ws(room.patient)
    sender_tablet = await ws(room.patient)
    doctor_phone = await ws(room.doctor)
    doctor_desk = await ws(room.doctor)
    peer = await ws(other_patient)
    stranger = await ws(outsider)

    sent = await sender.request(
        {
            "type": "send_message",
            "group_id": room.group_id,
            "content": "my chest hurts",
            "client_msg_id": "c-1",
        },
        "message_sent",
    )
    assert sent["client_msg_id"] == "c-1"
    stored = sent["message"]
    assert (
        stored["msg_content"] == "my chest hurts" and stored["from_user_id"] == room.patient.user_id
    )
    assert stored["seq"] == 3 and stored["client_msg_id"] == "c-1"

    for receiver in (sender_tablet, doctor_phone, doctor_desk, peer):
        event, _ = await receiver.message("my chest hurts")
        assert event["message"] == stored

    mark = await barrier(live_client, room.doctor, room.group_id)
    _, before = await sender.message(mark)
    assert "my chest hurts" not in message_contents(before + sender.backlog)

    outside_mark = await barrier(live_client, outsider, outsider_group["group_id"])
    _, before = await stranger.message(outside_mark)
    assert message_contents(before) == []

    fetched = await live_client.get(
        f"/api/message/{stored['message_id']}", headers=room.doctor.headers
    )
    assert fetched.json() == stored


async def test_http_sends_reach_every_connection_of_the_sender_too(
    ws: Connect, live_client: httpx.AsyncClient
) -> None:
    room = await consultation(live_client)
    own_phone = await ws(room.doctor)
    patient = await ws(room.patient)
    message = await send_ok(live_client, room.doctor, room.group_id, "from the web form")
    for receiver in (own_phone, patient):
        event, _ = await receiver.message("from the web form")
        assert event == {"type": "message", "message": message}


async def test_websocket_send_is_idempotent(ws: Connect, live_client: httpx.AsyncClient) -> None:
    room = await consultation(live_client)
    sender = await ws(room.patient)
    doctor = await ws(room.doctor)
    frame = {
        "type": "send_message",
        "group_id": room.group_id,
        "content": "once",
        "client_msg_id": "r",
    }
    first = await sender.request(frame, "message_sent")
    again = await sender.request(frame, "message_sent")
    assert again["message"] == first["message"]
    await doctor.message("once")
    mark = await barrier(live_client, room.doctor, room.group_id)
    _, before = await doctor.message(mark)
    assert "once" not in message_contents(before)
    listing = await list_messages(live_client, room.doctor, room.group_id)
    assert listing.json()["total"] == 3


async def test_refused_sends_push_nothing(ws: Connect, live_client: httpx.AsyncClient) -> None:
    room = await consultation(live_client)
    intruder = await create_user(live_client, "DOCTOR")
    doctor = await ws(room.doctor)
    patient = await ws(room.patient)
    intruder_ws = await ws(intruder)

    http_refused = await send(live_client, intruder, room.group_id, "via http")
    assert http_refused.status_code == 403
    ws_refused = await intruder_ws.request(
        {
            "type": "send_message",
            "group_id": room.group_id,
            "content": "via ws",
            "client_msg_id": "i",
        },
        "error",
    )
    assert ws_refused["code"] == "NOT_A_MEMBER" and ws_refused["client_msg_id"] == "i"
    invalid = await send(live_client, room.patient, room.group_id, "")
    assert invalid.status_code == 422

    mark = await barrier(live_client, room.doctor, room.group_id)
    for receiver in (doctor, patient):
        event, before = await receiver.message(mark)
        assert event["message"]["seq"] == 2  # nothing was stored before the barrier
        assert message_contents(before) == []
    await intruder_ws.ping()


@pytest.mark.parametrize(
    "settings_overrides", [{"rate_limit_messages_per_minute": 2}], indirect=True
)
async def test_rate_limit_counts_http_and_websocket_sends_together(
    ws: Connect, live_client: httpx.AsyncClient
) -> None:
    room = await consultation(live_client)
    patient = await ws(room.patient)
    doctor = await ws(room.doctor)
    await send_ok(live_client, room.patient, room.group_id, "http one")
    await patient.request(
        {"type": "send_message", "group_id": room.group_id, "content": "ws two"}, "message_sent"
    )
    refused = await patient.request(
        {
            "type": "send_message",
            "group_id": room.group_id,
            "content": "three",
            "client_msg_id": "3",
        },
        "error",
    )
    assert refused["code"] == "RATE_LIMITED" and refused["client_msg_id"] == "3"
    assert 1 <= refused["details"]["retry_after"] <= 60
    assert (await send(live_client, room.patient, room.group_id, "four")).status_code == 429
    await patient.ping()
    mark = await barrier(live_client, room.doctor, room.group_id)
    _, before = await doctor.message(mark)
    assert message_contents(before) == ["http one", "ws two"]


async def test_system_messages_and_membership_events_are_pushed(
    ws: Connect, live_client: httpx.AsyncClient
) -> None:
    room = await consultation(live_client)
    newcomer = await create_user(live_client)
    doctor = await ws(room.doctor)
    patient = await ws(room.patient)
    newcomer_ws = await ws(newcomer)

    await add_member(live_client, room.doctor, room.group_id, newcomer)
    for receiver in (doctor, patient, newcomer_ws):
        joined, _ = await receiver.expect("member_joined")
        assert joined == {
            "type": "member_joined",
            "group_id": room.group_id,
            "user_id": newcomer.user_id,
        }
        system, _ = await receiver.until(
            lambda e: e.get("type") == "message" and e["message"]["msg_type"] == "SYSTEM"
        )
        assert system["message"]["seq"] == 2
        assert system["message"]["from_user_id"] == room.doctor.user_id

    # The newcomer now receives the group's messages.
    await send_ok(live_client, room.patient, room.group_id, "welcome")
    await newcomer_ws.message("welcome")

    response = await live_client.delete(
        f"/api/group/{room.group_id}/members/{newcomer.user_id}", headers=room.doctor.headers
    )
    assert response.status_code == 204
    for receiver in (doctor, patient, newcomer_ws):
        left, _ = await receiver.expect("member_left")
        assert left == {
            "type": "member_left",
            "group_id": room.group_id,
            "user_id": newcomer.user_id,
        }
    for receiver in (doctor, patient):
        system, _ = await receiver.until(
            lambda e: e.get("type") == "message" and e["message"]["msg_type"] == "SYSTEM"
        )
        assert system["message"]["seq"] == 4

    # Once removed, the former member gets nothing more from the group.
    await send_ok(live_client, room.doctor, room.group_id, "after removal")
    await patient.message("after removal")
    elsewhere = await create_group(live_client, room.doctor, "elsewhere")
    await add_member(live_client, room.doctor, elsewhere["group_id"], newcomer)
    mark = await barrier(live_client, room.doctor, elsewhere["group_id"])
    _, before = await newcomer_ws.message(mark)
    assert "after removal" not in message_contents(before)


async def test_events_carry_only_the_documented_shapes(
    ws: Connect, live_client: httpx.AsyncClient
) -> None:
    room = await consultation(live_client)
    doctor = await ws(room.doctor)
    message = await send_ok(live_client, room.patient, room.group_id, "shape")
    event, skipped = await doctor.message("shape")
    assert set(event) == {"type", "message"}
    assert set(event["message"]) == set(message)
    assert all(isinstance(e.get("type"), str) for e in skipped)
    assert "message" not in types(skipped)


async def test_concurrent_sends_arrive_in_seq_order_without_gaps(
    ws: Connect, live_client: httpx.AsyncClient
) -> None:
    """SPEC §3: a client that has seen seq N has seen every seq below N, live as well."""
    room = await consultation(live_client)
    third = await create_user(live_client)
    await add_member(live_client, room.doctor, room.group_id, third)
    authors = (room.doctor, room.patient, third)
    watchers = [await ws(user) for user in authors]
    responses = await asyncio.wait_for(
        asyncio.gather(
            *(send(live_client, authors[n % 3], room.group_id, f"c{n}") for n in range(60))
        ),
        timeout=60,
    )
    assert all(r.status_code == 201 for r in responses)
    last = max(r.json()["seq"] for r in responses)
    for watcher in watchers:
        seen: list[int] = []
        async with asyncio.timeout(10):
            while not seen or seen[-1] < last:
                event = await watcher.recv()
                if event["type"] == "message":
                    seen.append(event["message"]["seq"])
        assert seen[0] <= 3
        assert seen == list(range(seen[0], last + 1))
