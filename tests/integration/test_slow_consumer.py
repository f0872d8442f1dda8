"""A WebSocket client that stops reading, on a real server process (SPEC §6, §14).

Its bounded send queue fills, the server closes it with 4008 — and, as the peer never even
takes the close frame, tears the connection down within 10 s — while a client that keeps
reading in the same group sees every message with bounded latency all along.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import statistics
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.factories import add_member, create_group, create_user
from tests.integration.clients import WsClient, http_client
from tests.integration.conftest import ServerFactory
from tests.integration.processes import LOOPBACK

QUEUE_SIZE = 8
MESSAGES = 400
PADDING = "\N{GRINNING FACE}" * 4990  # 20 KB frames fill the stalled socket quickly
MAX_LATENCY = 2.0
TORN_DOWN_WITHIN = 10.0


async def _slow_closed(http_metrics: str) -> float:
    for line in http_metrics.splitlines():
        if line.startswith("im_ws_slow_consumer_closed_total "):
            return float(line.split()[1])
    return 0.0


async def test_stalled_reader_gets_4008_and_others_keep_their_latency(
    servers: ServerFactory, sqlite_url: str
) -> None:
    server = await servers.start(
        "slow", database_url=sqlite_url, extra={"WS_SEND_QUEUE_SIZE": str(QUEUE_SIZE)}
    )
    async with http_client(server) as http:
        doctor = await create_user(http, "DOCTOR")
        fast_user = await create_user(http, "PATIENT")
        slow_user = await create_user(http, "PATIENT")
        group_id = (await create_group(http, doctor))["group_id"]
        await add_member(http, doctor, group_id, fast_user)
        await add_member(http, doctor, group_id, slow_user)

        fast = await WsClient.open(server, fast_user)
        # The stalled client: a tiny kernel receive buffer, a tiny client-side queue, and after
        # the greeting it never reads.
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.setblocking(False)
        await asyncio.get_running_loop().sock_connect(raw, (LOOPBACK, server.port))
        slow = await connect(
            server.ws_url(slow_user.user_id, slow_user.token),
            sock=raw,
            max_queue=2,
            compression=None,  # no permessage-deflate: every frame really takes 20 KB
        )
        assert '"connected"' in str(await asyncio.wait_for(slow.recv(), 10))

        sent_at: dict[int, float] = {}
        latencies: list[float] = []

        async def reader() -> None:
            while len(latencies) < MESSAGES:
                event = await fast.expect(lambda e: e["type"] == "message", 15)
                index = int(event["message"]["msg_content"].split(":", 1)[0])
                latencies.append(time.monotonic() - sent_at[index])

        reading = asyncio.create_task(reader())
        try:
            for index in range(MESSAGES):
                sent_at[index] = time.monotonic()
                response = await http.post(
                    "/api/message/send",
                    json={"group_id": group_id, "content": f"{index}:{PADDING}"},
                    headers=doctor.headers,
                )
                assert response.status_code == 201, response.text
            await asyncio.wait_for(reading, timeout=30)
        finally:
            reading.cancel()

        assert len(latencies) == MESSAGES
        assert max(latencies) < MAX_LATENCY, f"max latency {max(latencies):.3f}s"
        assert statistics.median(latencies) < MAX_LATENCY / 4
        closed = await _slow_closed((await http.get("/metrics")).text)
        assert closed >= 1, "the stalled socket was never closed as too slow"

        # The server lets go of the stalled connection by itself (before the fix it waited
        # forever for the peer to take the close frame).
        torn_down_by = time.monotonic() + TORN_DOWN_WITHIN
        while (await http.get("/health")).json()["connections"] > 1:
            assert time.monotonic() < torn_down_by, "the stalled connection is still open"
            await asyncio.sleep(0.1)
        # What the stalled client had buffered is an in-order prefix, then the connection ends.
        drained = 0
        with contextlib.suppress(ConnectionClosed, ConnectionError):
            async with asyncio.timeout(TORN_DOWN_WITHIN):
                while True:
                    await slow.recv()
                    drained += 1
        print(
            f"latency max={max(latencies) * 1000:.1f}ms "
            f"median={statistics.median(latencies) * 1000:.1f}ms; stalled client drained "
            f"{drained} frames"
        )
        assert drained < MESSAGES  # it really fell behind

        # The fast client and the server are fine.
        assert (await fast.ping())["type"] == "pong"
        await fast.close()
    assert server.is_alive()
    assert "too slow; closing 4008" in server.log_text()
