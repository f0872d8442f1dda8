"""Back-pressure (SPEC §6): a connection that stops reading is closed with 4008 once its bounded
queue is full, while the other members keep receiving everything; it then reconnects and syncs."""

import asyncio
import contextlib
import socket
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import LiveServer
from tests.factories import Consultation, add_member, consultation, create_user, send_ok
from tests.websocket.wsclient import WSClient, eventually, open_raw

QUEUE = 8
MAX_MESSAGES = 1500
# 5000 four-byte characters: 20 KB a frame, so the loopback TCP buffers fill after a few hundred.
BIG = "🩺" * 5000

pytestmark = pytest.mark.parametrize(
    "settings_overrides", [{"ws_send_queue_size": QUEUE}], indirect=True
)


async def stalled_client(live: LiveServer, room: Consultation) -> WSClient:
    """A patient's connection with tiny buffers that reads nothing after `connected`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", live.port))
    url = live.ws_url(room.patient.user_id, room.patient.token)
    client = WSClient(await open_raw(url, sock=sock, compression=None, max_queue=1), room.patient)
    assert (await client.recv())["type"] == "connected"
    return client


def is_closed_on_server(live: LiveServer, user_id: str) -> bool:
    connections = live.app.state.server.connections._by_user.get(user_id, {})
    return any(connection.closed.is_set() for connection in connections.values())


async def test_slow_consumer_is_closed_with_4008_and_others_get_everything(
    live_server: LiveServer, live_client: httpx.AsyncClient
) -> None:
    room = await consultation(live_client)
    colleague = await create_user(live_client, "DOCTOR")
    await add_member(live_client, room.doctor, room.group_id, colleague)
    slow = await stalled_client(live_server, room)
    fast = await WSClient.open(live_server, colleague, compression=None)

    received: list[int] = []

    async def read_everything() -> None:
        while True:
            event = await fast.recv(within=30)
            if event["type"] == "message":
                received.append(event["message"]["seq"])

    reader = asyncio.create_task(read_everything())
    sent: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(60):
            while len(sent) < MAX_MESSAGES and not is_closed_on_server(
                live_server, room.patient.user_id
            ):
                sent.append(await send_ok(live_client, room.doctor, room.group_id, BIG))
            # A few more after the close: the others must still get them.
            for _ in range(5):
                sent.append(await send_ok(live_client, room.doctor, room.group_id, "after"))
            seqs = [message["seq"] for message in sent]
            await eventually(lambda: received[-1:] == seqs[-1:], within=30)
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await reader
    assert len(sent) < MAX_MESSAGES, "the stalled connection was never closed"
    assert received == seqs  # every message, in order, no gap, no duplicate

    # The stalled client stays stalled past any short close timeout, then drains: what it got is
    # an in-order prefix, and then the close code 4008.
    await asyncio.sleep(3)
    prefix: list[int] = []
    code = None
    async with asyncio.timeout(30):
        while code is None:
            try:
                event = await slow.recv(within=30)
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd is not None else "no close frame"
                break
            if event["type"] == "message":
                prefix.append(event["message"]["seq"])
    assert code == 4008
    assert prefix == seqs[: len(prefix)]
    assert len(prefix) < len(seqs)

    # It reconnects and syncs what it missed.
    again = await WSClient.open(live_server, room.patient)
    cursor = prefix[-1] if prefix else 1
    missed: list[int] = []
    while True:
        result = await again.request(
            {"type": "sync", "cursors": {room.group_id: cursor}}, "sync_result"
        )
        missed += [m["seq"] for m in result["messages"]]
        if not result["has_more"]:
            break
        cursor = missed[-1]
    assert prefix + missed == list(range(prefix[0] if prefix else 2, seqs[-1] + 1))
    await again.close()
    await fast.close()
