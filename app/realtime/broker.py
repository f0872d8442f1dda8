"""The broker: carries envelopes between server instances (in-process or Redis pub/sub).

A broker only moves envelopes; it knows nothing of groups or sockets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from app.realtime.envelope import Envelope

EnvelopeHandler = Callable[[Envelope], Awaitable[None]]
ResubscribedHandler = Callable[[], Awaitable[None]]
"""Called after a broker reconnects: whatever was published meanwhile is lost, so per-instance
caches that rely on invalidation messages must be dropped."""


class BrokerUnavailable(Exception):
    """The broker cannot be reached; committed data is safe, live delivery is not."""


class Broker(Protocol):
    async def start(
        self, on_envelope: EnvelopeHandler, on_resubscribed: ResubscribedHandler
    ) -> None:
        """Begin delivering every published envelope (from any instance) to `on_envelope`."""

    async def publish_many(self, envelopes: Sequence[Envelope]) -> None:
        """Publish in order; raises `BrokerUnavailable` when the broker is down."""

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...
