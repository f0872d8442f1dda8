"""The connection manager on its own (app/websocket/manager.py), with a stand-in socket: queues,
the writer, the slow-consumer close (cut off when the peer never makes room), and shutdown."""

import asyncio
import time
from typing import cast

from prometheus_client import REGISTRY
from starlette.websockets import WebSocket

from app.websocket.manager import CLOSE_SLOW_CONSUMER, Connection, ConnectionManager
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


class Aborts:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


_ids = iter(range(1_000_000))


def open_socket(
    manager: ConnectionManager, socket: StandInSocket, user_id: str, abort: Aborts | None = None
) -> Connection:
    return manager.open(as_websocket(socket), user_id, f"c{next(_ids)}", abort or Aborts())


async def test_delivery_to_every_connection_but_the_excluded_one() -> None:
    manager = ConnectionManager(max_connections=10, queue_size=8)
    phone, laptop, other = StandInSocket(), StandInSocket(), StandInSocket()
    first = open_socket(manager, phone, "u1")
    open_socket(manager, laptop, "u1")
    open_socket(manager, other, "u2")
    assert manager.count == 3
    assert manager.count_for("u1") == 2 and manager.count_for("nobody") == 0
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
    aborts = Aborts()
    connection = open_socket(manager, socket, "u1", aborts)
    assert manager.deliver(["u1"], "m0", None) == 1
    await eventually(lambda: connection.queue.empty())  # the writer holds m0, blocked
    closed_before = slow_closes()
    delivered = [manager.deliver(["u1"], f"m{n}", None) for n in range(1, 6)]
    # Two wait in the queue; the next overflows and closes; nothing is queued after that.
    assert delivered == [1, 1, 0, 0, 0]
    assert connection.closed.is_set()
    assert slow_closes() == closed_before + 1  # one connection closed, counted once
    # A peer that makes room within the grace learns why it was closed.
    socket.blocked.set()
    await eventually(lambda: socket.closed_with == [(CLOSE_SLOW_CONSUMER, "too slow")])
    assert aborts.count == 0
    await manager.release(connection)
    assert manager.count == 0


async def test_a_peer_that_never_reads_is_cut_off() -> None:
    """Before the fix, the close frame waited forever behind the bytes the peer never read,
    and the connection was never torn down."""
    manager = ConnectionManager(max_connections=10, queue_size=1, close_grace=0.2)
    socket = StandInSocket()
    socket.blocked.clear()  # never unblocked: the peer stopped reading for good
    aborts = Aborts()
    connection = open_socket(manager, socket, "u1", aborts)
    started = time.monotonic()
    for n in range(3):
        manager.deliver(["u1"], f"m{n}", None)
    await eventually(lambda: aborts.count == 1)
    assert time.monotonic() - started < 2
    assert socket.closed_with == []
    await manager.release(connection)


async def test_shutdown_closes_every_socket_at_once() -> None:
    """Before the fix, sockets were closed one after another, each taking up to 2 s."""
    manager = ConnectionManager(max_connections=100, queue_size=4, close_grace=0.3)
    stalled = [StandInSocket() for _ in range(10)]
    aborts = Aborts()
    for index, socket in enumerate(stalled):
        socket.blocked.clear()
        open_socket(manager, socket, f"u{index}", aborts)
    started = time.monotonic()
    await manager.close_all()
    assert time.monotonic() - started < 1.5  # ten stalled peers, closed concurrently
    assert aborts.count == 10


async def test_a_broken_peer_stops_the_writer_and_marks_the_connection_closed() -> None:
    manager = ConnectionManager(max_connections=10, queue_size=8)
    socket = StandInSocket(broken=True)
    connection = open_socket(manager, socket, "u1")
    assert connection.send("x")
    await eventually(connection.closed.is_set)
    assert not connection.send("y")
    await connection.close(1000)  # already closed: nothing more is sent
    assert socket.closed_with == []
    await manager.release(connection)


async def test_the_limit_of_connections() -> None:
    manager = ConnectionManager(max_connections=1, queue_size=1)
    assert not manager.is_full()
    connection = open_socket(manager, StandInSocket(), "u1")
    assert manager.is_full()
    await manager.release(connection)
    assert not manager.is_full()
