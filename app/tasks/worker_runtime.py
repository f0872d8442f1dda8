"""The async runtime of one Celery worker process: one event loop in a thread of its own,
holding the services `app/bootstrap.py` builds for a worker on that loop.

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

from app.bootstrap import Worker, start_worker
from app.config import Settings, get_settings
from app.utils.logger import configure_logging

T = TypeVar("T")


class WorkerRuntime:
    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="ai-loop", daemon=True)
        self._thread.start()
        self.worker: Worker = self.run(start_worker(settings))

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
