"""Coalescing streamed AI text: a provider may stream hundreds of tiny pieces a second, but
members' sockets get at most one `ai_reply_delta` per `interval` (about ten a second), each
carrying everything streamed since the last one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

DEFAULT_INTERVAL = 0.1


class DeltaCoalescer:
    def __init__(self, emit: Callable[[str], None], interval: float = DEFAULT_INTERVAL) -> None:
        self.emit = emit
        self.interval = interval
        self._loop = asyncio.get_running_loop()
        self._pieces: list[str] = []
        self._last_emit = -interval
        self._timer: asyncio.TimerHandle | None = None

    def add(self, piece: str) -> None:
        self._pieces.append(piece)
        if self._timer is not None:
            return
        wait = self._last_emit + self.interval - self._loop.time()
        if wait <= 0:
            self.flush()
        else:
            self._timer = self._loop.call_later(wait, self.flush)

    def flush(self) -> None:
        """Emit what is buffered now (also called once the reply is complete)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pieces:
            text = "".join(self._pieces)
            self._pieces.clear()
            self._last_emit = self._loop.time()
            self.emit(text)
