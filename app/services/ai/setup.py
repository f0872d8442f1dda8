"""Start-up wiring of the AI layer: the assistant user, the outbox hook on the core's message
service, the worker (in-process or Celery), and the sweeper that resumes unfinished records."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import httpx

from app.services.ai.ai_interaction_service import AIInteractionService
from app.services.ai.dispatcher import CeleryDispatcher, Dispatcher, InProcessDispatcher
from app.services.ai.outbox import AIOutboxHook
from app.services.ai.providers import create_provider

if TYPE_CHECKING:
    from app.dependencies import Container

logger = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 5.0


def ai_http_client(timeout: float) -> httpx.AsyncClient:
    """The one shared client for AI calls, with explicit timeouts and a bounded pool."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
    )


class AILayer:
    """The running AI layer, as the container keeps it."""

    def __init__(
        self,
        service: AIInteractionService,
        dispatcher: Dispatcher,
        client: httpx.AsyncClient,
    ) -> None:
        self.service = service
        self.dispatcher = dispatcher
        self.client = client
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="ai-sweeper")

    async def sweep(self) -> int:
        """Dispatch every record left unfinished (also run once at start-up)."""
        record_ids = await self.service.requeue_unfinished()
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
        self._sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sweeper
        await self.dispatcher.stop()
        await self.service.provider.aclose()
        await self.client.aclose()


async def install_ai_layer(container: Container) -> AILayer:
    """Create the AI assistant user, hook the outbox into sends, start worker and sweeper."""
    settings = container.settings
    assistant = await container.users.ensure_ai_assistant(settings.ai_assistant_name)
    container.groups.assistant_user_id = assistant.user_id
    client = ai_http_client(settings.ai_service_timeout)
    service = AIInteractionService(
        container.db,
        settings,
        create_provider(settings, client),
        container.messages,
        container.realtime,
        assistant.user_id,
    )
    dispatcher: Dispatcher
    if settings.ai_worker == "celery":
        from app.tasks.celery_app import create_producer

        dispatcher = CeleryDispatcher(create_producer(settings).send_task)
    else:
        dispatcher = InProcessDispatcher(service.process_ai_request, settings.ai_concurrency)
    container.messages.add_hook(AIOutboxHook(service.provider.url, dispatcher.dispatch))
    return AILayer(service, dispatcher, client)
