"""Floods one member can cause (SPEC §14): typing is throttled per user and group, and a user
holds at most WS_MAX_CONNECTIONS_PER_USER sockets."""

import asyncio

import httpx
import pytest
from prometheus_client import REGISTRY
from websockets.exceptions import ConnectionClosed

from tests.conftest import LiveServer
from tests.factories import add_member, consultation, create_group, send_ok
from tests.websocket.wsclient import TIMEOUT, Connect, WSClient, eventually, open_raw, types


async def test_typing_is_forwarded_at_most_once_per_interval(
    ws: Connect, live_client: httpx.AsyncClient
) -> None:
    """Before the fix every typing frame was forwarded: one member typing in a loop filled the
    others' queues until their sockets were closed with 4008."""
    room = await consultation(live_client)
    typer = await ws(room.patient)
    doctor = await ws(room.doctor)
    throttled = REGISTRY.get_sample_value("im_typing_throttled_total") or 0.0
    for _ in range(500):
        await typer.send({"type": "typing", "group_id": room.group_id})
    await typer.ping()  # every typing frame has been handled
    await send_ok(live_client, room.doctor, room.group_id, "marker")
    _, before = await doctor.message("marker")
    assert types(before).count("typing") == 1
    assert (REGISTRY.get_sample_value("im_typing_throttled_total") or 0.0) - throttled == 499
    await doctor.ping()  # still connected

    # The throttle is per user and group: the same user typing in another group is forwarded.
    other = await create_group(live_client, room.doctor, "second")
    await add_member(live_client, room.doctor, other["group_id"], room.patient)
    await typer.send({"type": "typing", "group_id": other["group_id"]})
    typing, _ = await doctor.expect("typing", group_id=other["group_id"])
    assert typing["user_id"] == room.patient.user_id


@pytest.mark.parametrize("settings_overrides", [{"ws_max_connections_per_user": 2}], indirect=True)
async def test_a_user_holds_at_most_the_per_user_cap(
    ws: Connect, live_server: LiveServer, live_client: httpx.AsyncClient
) -> None:
    """Before the fix one user could open sockets until the instance was full for everyone."""
    room = await consultation(live_client)
    phone = await ws(room.patient)
    laptop = await ws(room.patient)
    third = await open_raw(live_server.ws_url(room.patient.user_id, room.patient.token))
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(third.recv(), TIMEOUT)  # closed before `connected`
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429
    # Someone else is not affected, and a closed socket frees a place.
    await ws(room.doctor)
    await phone.close()
    connections = live_server.app.state.server.connections
    await eventually(lambda: connections.count_for(room.patient.user_id) == 1)
    again = await WSClient.open(live_server, room.patient)
    await again.ping()
    await again.close()
    await laptop.ping()
