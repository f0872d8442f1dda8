"""In-process broker for the embedded shape: envelopes go straight to the local handler."""

from collections.abc import Sequence

from app.realtime.broker import EnvelopeHandler, ResubscribedHandler
from app.realtime.envelope import Envelope


class MemoryBroker:
    def __init__(self) -> None:
        self._handler: EnvelopeHandler | None = None

    async def start(
        self, on_envelope: EnvelopeHandler, on_resubscribed: ResubscribedHandler
    ) -> None:
        self._handler = on_envelope

    async def publish_many(self, envelopes: Sequence[Envelope]) -> None:
        if self._handler is None:
            return
        for envelope in envelopes:
            await self._handler(envelope)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._handler = None
