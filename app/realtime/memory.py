"""In-process broker for the embedded shape: one instance, so every envelope published on a
channel it listens to goes straight to its handler."""

from collections.abc import Iterable, Sequence

from app.realtime.broker import EnvelopeHandler, ResubscribedHandler
from app.realtime.envelope import Envelope
from app.realtime.routes import BROADCAST


class MemoryBroker:
    def __init__(self) -> None:
        self._handler: EnvelopeHandler | None = None
        self._channels: set[str] = {BROADCAST}

    async def start(
        self, on_envelope: EnvelopeHandler, on_resubscribed: ResubscribedHandler
    ) -> None:
        self._handler = on_envelope

    async def subscribe(self, channels: Iterable[str]) -> None:
        self._channels.update(channels)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        self._channels.difference_update(channels)

    async def publish_many(self, items: Sequence[tuple[str, Envelope]]) -> None:
        if self._handler is None:
            return
        for channel, envelope in items:
            if channel in self._channels:
                await self._handler(channel, envelope)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._handler = None
