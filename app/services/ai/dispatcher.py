"""Handing AI records to a worker: asyncio tasks in this process, or Celery.

Both are fire-and-forget for the caller (a send never waits for the AI) and bounded: a record
that does not fit is left PENDING, and the sweeper dispatches it again when it falls due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from app.metrics import AI_DISPATCH_DEFERRED
from app.services.ai.outbox import ClaimedMessage

logger = logging.getLogger(__name__)

CELERY_TASK_NAME = "app.tasks.ai_interaction_task.process_ai_record"
CELERY_SENDS_IN_FLIGHT = 1000


class Dispatcher(Protocol):
    async def dispatch(self, record_id: str) -> None: ...

    async def stop(self) -> None: ...


class InProcessDispatcher:
    """At most `concurrency` AI calls at once and `backlog` more waiting in this process; a
    record already held here is not taken twice. Records claimed at staging (`start`) carry
    their message, so the worker makes no claim of its own; when there is no room for one, it
    is left to lapse (its lease) and the sweeper sends it again."""

    def __init__(
        self,
        claim_and_answer: Callable[[str], Awaitable[object]],
        answer: Callable[[ClaimedMessage], Awaitable[object]],
        concurrency: int,
        backlog: int,
    ) -> None:
        self.claim_and_answer = claim_and_answer
        self.answer = answer
        self.capacity = concurrency + backlog
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def dispatch(self, record_id: str) -> None:
        self._run(record_id, lambda: self.claim_and_answer(record_id))

    async def start(self, claimed: ClaimedMessage) -> None:
        self._run(claimed.record_id, lambda: self.answer(claimed))

    def _run(self, record_id: str, work: Callable[[], Awaitable[object]]) -> None:
        if record_id in self._tasks:
            return
        if len(self._tasks) >= self.capacity:
            AI_DISPATCH_DEFERRED.inc()
            return
        task = asyncio.create_task(self._guarded(record_id, work), name=f"ai-{record_id}")
        self._tasks[record_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(record_id, None))

    async def _guarded(self, record_id: str, work: Callable[[], Awaitable[object]]) -> None:
        async with self._slots:
            try:
                await work()
            except Exception:
                # The record stays claimed; the sweeper retries it once its lease lapses.
                logger.exception("ai record %s could not be processed", record_id)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class CeleryDispatcher:
    """Queues `process_ai_record` on the Celery broker (off the event loop: kombu blocks)."""

    def __init__(self, send_task: Callable[..., object]) -> None:
        self.send_task = send_task
        self._pending: set[asyncio.Task[None]] = set()

    async def dispatch(self, record_id: str) -> None:
        if len(self._pending) >= CELERY_SENDS_IN_FLIGHT:
            AI_DISPATCH_DEFERRED.inc()
            return
        task = asyncio.create_task(self._send(record_id))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send(self, record_id: str) -> None:
        try:
            await asyncio.to_thread(self.send_task, CELERY_TASK_NAME, args=[record_id])
        except Exception:
            # The record stays PENDING; the sweeper queues it again when it falls due.
            logger.exception("could not queue ai record %s on Celery", record_id)

    async def stop(self) -> None:
        if self._pending:
            await asyncio.wait(self._pending, timeout=5)
