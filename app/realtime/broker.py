"""The broker: carries envelopes between server instances on named channels (in-process, or
Redis sharded pub/sub). An instance hears the broadcast channel and the channels it subscribed
to; a broker only moves envelopes and knows nothing of groups or sockets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from app.realtime.envelope import Envelope

EnvelopeHandler = Callable[[str, Envelope], Awaitable[None]]
"""Called with the channel an envelope came on, and the envelope."""
ResubscribedHandler = Callable[[], Awaitable[None]]
"""Called after a broker reconnects: whatever was published meanwhile is lost, so state kept
up to date by envelopes must be rebuilt."""


class BrokerUnavailable(Exception):
    """The broker cannot be reached; committed data is safe, live delivery is not."""


class Broker(Protocol):
    async def start(
        self, on_envelope: EnvelopeHandler, on_resubscribed: ResubscribedHandler
    ) -> None:
        """Begin delivering envelopes of the broadcast channel and of subscribed channels."""

    async def subscribe(self, channels: Iterable[str]) -> None:
        """Also hear these channels (kept across reconnects)."""

    async def unsubscribe(self, channels: Iterable[str]) -> None: ...

    async def publish_many(self, items: Sequence[tuple[str, Envelope]]) -> None:
        """Publish (channel, envelope) pairs in order; raises `BrokerUnavailable` when the
        broker is down."""

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...
