"""The async runtime of one Celery worker process: one event loop in a thread of its own,
holding the engine, broker and AI service built on that loop.

Celery has no native asyncio; tasks (run by the threads pool) submit coroutines here and wait,
so one process holds as many AI calls in flight as it has pool threads, on one loop and one
connection pool — never an event loop per task, never an engine shared across loops.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from app.broker import create_broker
from app.config import Settings, get_settings
from app.db.database import create_engine
from app.db.session import Database
from app.services.ai.ai_interaction_service import AIInteractionService
from app.services.ai.providers import create_provider
from app.services.ai.setup import ai_http_client
from app.services.core.message_service import MessageService
from app.services.core.rate_limit import MemorySlots, RateLimiter
from app.services.core.user_service import AI_ASSISTANT_USER_ID
from app.services.core.websocket_service import NoLocalConnections, RealtimeService
from app.utils.logger import configure_logging

T = TypeVar("T")


class WorkerRuntime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="ai-loop", daemon=True)
        self._thread.start()
        self.service: AIInteractionService = self.run(self._build())

    async def _build(self) -> AIInteractionService:
        settings = self.settings
        db = Database(create_engine(settings))
        broker = create_broker(settings.broker_url, f"{settings.redis_prefix}:events")
        realtime = RealtimeService(db, broker, NoLocalConnections())
        await realtime.start(subscribe=False)
        messages = MessageService(db, realtime, RateLimiter(0, MemorySlots(0)))
        client = ai_http_client(settings.ai_service_timeout)
        return AIInteractionService(
            db,
            settings,
            create_provider(settings, client),
            messages,
            realtime,
            AI_ASSISTANT_USER_ID,
        )

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.submit(coroutine).result()


_runtime: WorkerRuntime | None = None
_lock = threading.Lock()


def get_runtime() -> WorkerRuntime:
    """This process's runtime, built on first use (after a prefork fork, never before)."""
    global _runtime
    with _lock:
        if _runtime is None:
            settings = get_settings()
            configure_logging(settings.log_level, settings.log_format)
            _runtime = WorkerRuntime(settings)
        return _runtime
