"""The AI layer as the wiring installs it: built from the parts of the core it needs, it returns
the hook to register on the core's writer and runs its worker and sweeper.

A server builds the whole layer; a Celery worker builds only the interaction service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from app.config import Settings
from app.db.session import Database
from app.realtime.fanout import Fanout
from app.realtime.slots import SlotStore
from app.services.ai.ai_interaction_service import AIInteractionService, ImageData, ImageUrl
from app.services.ai.copilot.handover import HandoverHook
from app.services.ai.copilot.service import CopilotService
from app.services.ai.copilot.task import instructions
from app.services.ai.dispatcher import Dispatcher, InProcessDispatcher
from app.services.ai.outbox import AIOutboxHook, Outbox
from app.services.ai.providers import create_provider
from app.services.core.message_writer import MessageWriter
from app.services.core.rate_limit import RateLimiter

logger = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 5.0


@dataclass(frozen=True)
class AIParts:
    """What the AI layer needs from the rest of the process."""

    settings: Settings
    db: Database
    writer: MessageWriter
    fanout: Fanout
    assistant_user_id: str
    image_url: ImageUrl | None = None
    """Signed absolute URLs of IMAGE messages' pictures (SPEC §12)."""
    image_data: ImageData | None = None
    """IMAGE messages' pictures themselves, scaled down (AI_VISION)."""


def ai_http_client(timeout: float) -> httpx.AsyncClient:
    """The one shared client for AI calls, with explicit timeouts and a bounded pool."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
    )


class AIWorker:
    """The interaction service, its provider and the HTTP client they own (all a Celery
    worker needs of the AI layer)."""

    def __init__(self, parts: AIParts) -> None:
        settings = parts.settings
        self.client = ai_http_client(settings.ai_service_timeout)
        self.service = AIInteractionService(
            parts.db,
            parts.writer,
            parts.fanout,
            create_provider(settings, self.client),
            settings,
            parts.assistant_user_id,
            parts.image_url,
            parts.image_data,
        )

    async def stop(self) -> None:
        await self.service.provider.aclose()
        await self.client.aclose()


class AILayer:
    """A server's AI layer: the outbox hook, a dispatcher, and the sweeper; and the copilot's
    hand-over hook and requests (`copilot_slots`: the store of its per-doctor rate limit)."""

    def __init__(
        self,
        parts: AIParts,
        make_dispatcher: Callable[[AIInteractionService], Dispatcher],
        copilot_slots: SlotStore,
    ) -> None:
        settings = parts.settings
        self.worker = AIWorker(parts)
        self.service = self.worker.service
        self.dispatcher = make_dispatcher(self.service)
        in_process = self.dispatcher if isinstance(self.dispatcher, InProcessDispatcher) else None
        self.outbox = Outbox(
            self.service.provider.url,
            self.dispatcher.dispatch,
            start=in_process.start if in_process is not None else None,
            lease=self.service.lease,
        )
        self.hook = AIOutboxHook(self.outbox, parts.assistant_user_id)
        self.handover = HandoverHook(self.outbox, settings.ai_summary_prompt)
        self.copilot = CopilotService(
            parts.db,
            parts.writer,
            self.outbox,
            RateLimiter(settings.ai_copilot_per_minute, copilot_slots),
            instructions(settings),
        )
        self._sweeper: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="ai-sweeper")

    async def sweep(self) -> int:
        """Dispatch every record that is due (also run once at start-up)."""
        record_ids = await self.service.requeue_due()
        for record_id in record_ids:
            await self.dispatcher.dispatch(record_id)
        if record_ids:
            logger.info("resumed %d unfinished AI records", len(record_ids))
        return len(record_ids)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception as exc:  # the database may be down; try again next round
                logger.warning("ai sweep failed: %r", exc)
            await asyncio.sleep(SWEEP_INTERVAL_SECONDS)

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.dispatcher.stop()
        await self.worker.stop()
