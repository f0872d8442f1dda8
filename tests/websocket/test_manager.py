"""The connection manager on its own (app/websocket/manager.py), with a stand-in socket: queues,
the writer, the slow-consumer close, and shutdown."""

import asyncio
from typing import cast

from prometheus_client import REGISTRY
from starlette.websockets import WebSocket

from app.websocket.manager import CLOSE_SLOW_CONSUMER, ConnectionManager
from tests.websocket.wsclient import eventually


class StandInSocket:
    """Records frames and the close; `blocked` makes sends hang like a peer that stopped reading."""

    def __init__(self, *, broken: bool = False) -> None:
        self.sent: list[str] = []
        self.closed_with: list[tuple[int, str]] = []
        self.broken = broken
        self.blocked = asyncio.Event()
        self.blocked.set()

    async def send_text(self, text: str) -> None:
        if self.broken:
            raise ConnectionResetError("peer went away")
        await self.blocked.wait()
        self.sent.append(text)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.blocked.wait()
        self.closed_with.append((code, reason))


def slow_closes() -> float:
    return REGISTRY.get_sample_value("im_ws_slow_consumer_closed_total") or 0.0


def as_websocket(socket: StandInSocket) -> WebSocket:
    return cast(WebSocket, socket)


async def test_delivery_to_every_connection_but_the_excluded_one() -> None:
    manager = ConnectionManager(max_connections=10, queue_size=8)
    phone, laptop, other = StandInSocket(), StandInSocket(), StandInSocket()
    first = manager.open(as_websocket(phone), "u1")
    manager.open(as_websocket(laptop), "u1")
    manager.open(as_websocket(other), "u2")
    assert manager.count == 3 and manager.has_connections()
    assert sorted(manager.pairs())[0][0] == "u1"
    assert manager.deliver(["u1", "u2", "nobody"], "hello", exclude_connection_id=first.id) == 2
    await eventually(lambda: laptop.sent == ["hello"] and other.sent == ["hello"])
    assert phone.sent == []
    await manager.release(first)
    await manager.release(first)  # twice is harmless
    assert manager.count == 2
    await manager.close_all()
    assert laptop.closed_with == [(1001, "server shutting down")]
    assert other.closed_with == [(1001, "server shutting down")]
    assert manager.deliver(["u1", "u2"], "late", None) == 0


async def test_a_full_queue_closes_the_connection_with_4008() -> None:
    manager = ConnectionManager(max_connections=10, queue_size=2)
    socket = StandInSocket()
    socket.blocked.clear()
    connection = manager.open(as_websocket(socket), "u1")
    assert manager.deliver(["u1"], "m0", None) == 1
    await eventually(lambda: connection.queue.empty())  # the writer holds m0, blocked
    closed_before = slow_closes()
    delivered = [manager.deliver(["u1"], f"m{n}", None) for n in range(1, 6)]
    # Two wait in the queue; the next overflows and closes; nothing is queued after that.
    assert delivered == [1, 1, 0, 0, 0]
    assert connection.closed.is_set()
    assert slow_closes() == closed_before + 1  # one connection closed, counted once
    # The close waits for the peer, however long it takes, then says why.
    await asyncio.sleep(0.1)
    assert socket.closed_with == []
    socket.blocked.set()
    await eventually(lambda: socket.closed_with == [(CLOSE_SLOW_CONSUMER, "queue full")])
    await manager.release(connection)
    assert manager.count == 0 and not manager.has_connections()


async def test_a_broken_peer_stops_the_writer_and_marks_the_connection_closed() -> None:
    manager = ConnectionManager(max_connections=10, queue_size=8)
    socket = StandInSocket(broken=True)
    connection = manager.open(as_websocket(socket), "u1")
    assert connection.send("x")
    await eventually(connection.closed.is_set)
    assert not connection.send("y")
    await connection.close(1000)  # already closed: nothing more is sent
    assert socket.closed_with == []
    await manager.release(connection)


async def test_the_limit_of_connections() -> None:
    manager = ConnectionManager(max_connections=1, queue_size=1)
    assert not manager.is_full()
    connection = manager.open(as_websocket(StandInSocket()), "u1")
    assert manager.is_full()
    await manager.release(connection)
    assert not manager.is_full()
