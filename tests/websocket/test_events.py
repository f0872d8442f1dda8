"""Typing, read marks and presence (SPEC §6): each reaches the right people and only them."""

import httpx

from tests.conftest import LiveServer
from tests.factories import (
    add_member,
    consultation,
    create_group,
    create_user,
    mark_read,
    my_groups,
    send_ok,
)
from tests.websocket.wsclient import Connect, Event, WSClient, eventually, types


async def events_until_message(client: WSClient, content: str) -> list[Event]:
    _, before = await client.message(content)
    return before


async def test_typing_reaches_others_but_not_the_typer(
    ws: Connect, live_client: httpx.AsyncClient
) -> None:
    room = await consultation(live_client)
    typer = await ws(room.patient)
    typer_tablet = await ws(room.patient)
    doctor = await ws(room.doctor)
    await typer.send({"type": "typing", "group_id": room.group_id})
    typing, _ = await doctor.expect("typing")
    assert typing == {"type": "typing", "group_id": room.group_id, "user_id": room.patient.user_id}
    await send_ok(live_client, room.doctor, room.group_id, "after typing")
    for own in (typer, typer_tablet):
        assert "typing" not in types(await events_until_message(own, "after typing"))


async def test_read_event_reaches_the_other_members(
    ws: Connect, live_client: httpx.AsyncClient
) -> None:
    room = await consultation(live_client)
    third = await create_user(live_client)
    await add_member(live_client, room.doctor, room.group_id, third)
    await send_ok(live_client, room.doctor, room.group_id, "please read")
    reader = await ws(room.patient)
    doctor = await ws(room.doctor)
    peer = await ws(third)

    await reader.send({"type": "read", "group_id": room.group_id, "seq": 3})
    for other in (doctor, peer):
        event, _ = await other.expect("read")
        assert event == {
            "type": "read",
            "group_id": room.group_id,
            "user_id": room.patient.user_id,
            "seq": 3,
        }
    await send_ok(live_client, room.doctor, room.group_id, "marker")
    assert "read" not in types(await events_until_message(reader, "marker"))
    assert (await my_groups(live_client, room.patient))[room.group_id]["last_read_seq"] == 3

    # The same through HTTP; a mark that does not move sends nothing.
    assert (await mark_read(live_client, room.patient, room.group_id, 4)).status_code == 200
    event, _ = await doctor.expect("read")
    assert event["seq"] == 4 and event["user_id"] == room.patient.user_id
    assert (await mark_read(live_client, room.patient, room.group_id, 2)).status_code == 200
    await send_ok(live_client, room.patient, room.group_id, "marker 2")
    assert "read" not in types(await events_until_message(doctor, "marker 2"))


async def test_presence_reaches_co_members_only(
    ws: Connect, live_server: LiveServer, live_client: httpx.AsyncClient
) -> None:
    room = await consultation(live_client)
    stranger = await create_user(live_client, "DOCTOR")
    stranger_group = await create_group(live_client, stranger, "apart")
    doctor = await ws(room.doctor)
    stranger_ws = await ws(stranger)

    phone = await ws(room.patient)
    online, _ = await doctor.expect("presence")
    assert online == {"type": "presence", "user_id": room.patient.user_id, "online": True}
    members = await live_client.get(
        f"/api/group/{room.group_id}/members", headers=room.doctor.headers
    )
    assert {m["user_id"]: m["online"] for m in members.json()} == {
        room.doctor.user_id: True,
        room.patient.user_id: True,
    }

    # A second device neither announces again nor, when it leaves, takes the user offline.
    connections = live_server.app.state.server.connections
    tablet = await ws(room.patient)
    assert connections.count == 4
    await tablet.close()
    await eventually(lambda: connections.count == 3)  # the tablet's presence is settled too
    await send_ok(live_client, room.patient, room.group_id, "still online")
    assert "presence" not in types(await events_until_message(doctor, "still online"))

    await phone.close()
    offline, _ = await doctor.expect("presence")
    assert offline == {"type": "presence", "user_id": room.patient.user_id, "online": False}
    members = await live_client.get(
        f"/api/group/{room.group_id}/members", headers=room.doctor.headers
    )
    assert not {m["user_id"]: m["online"] for m in members.json()}[room.patient.user_id]

    await send_ok(live_client, stranger, stranger_group["group_id"], "stranger marker")
    assert "presence" not in types(await events_until_message(stranger_ws, "stranger marker"))


async def test_membership_events_reach_the_joiner_and_the_leaver(
    ws: Connect, live_client: httpx.AsyncClient
) -> None:
    room = await consultation(live_client)
    doctor = await ws(room.doctor)
    patient = await ws(room.patient)
    response = await live_client.delete(
        f"/api/group/{room.group_id}/members/{room.patient.user_id}", headers=room.patient.headers
    )
    assert response.status_code == 204
    for client in (doctor, patient):
        left, _ = await client.expect("member_left")
        assert left["user_id"] == room.patient.user_id and left["group_id"] == room.group_id
    await add_member(live_client, room.doctor, room.group_id, room.patient)
    for client in (doctor, patient):
        joined, _ = await client.expect("member_joined")
        assert joined["user_id"] == room.patient.user_id
    await send_ok(live_client, room.doctor, room.group_id, "welcome back")
    await patient.message("welcome back")
