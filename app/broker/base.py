"""The broker interface shared by the in-process and Redis implementations."""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

Envelope = dict[str, Any]
RESUBSCRIBED = "resubscribed"
"""The kind (`k`) of the envelope a broker hands its handler after reconnecting: whatever was
published meanwhile is lost, so per-instance caches must be dropped."""
EnvelopeHandler = Callable[[Envelope], Awaitable[None]]


class BrokerUnavailable(Exception):
    """The broker cannot be reached; committed data is safe, live delivery is not."""


class Broker(Protocol):
    async def start(self, handler: EnvelopeHandler) -> None:
        """Begin delivering every published envelope (from any instance) to `handler`."""

    async def publish_many(self, envelopes: Sequence[Envelope]) -> None:
        """Publish in order; raises `BrokerUnavailable` when the broker is down."""

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...
