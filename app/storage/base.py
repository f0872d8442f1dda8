"""The storage seam: what the attachments layer needs from a store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

CHUNK_BYTES = 64 * 1024
"""Downloads are streamed in pieces of this size: memory per download stays flat."""


class ObjectMissing(Exception):
    """The key holds no object."""


class Storage(Protocol):
    async def put(self, key: str, source: Path, content_type: str) -> None:
        """Store the file `source` under `key` (complete or not at all)."""

    async def read(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """The bytes `start`..`end` (inclusive) of the object, streamed in chunks. Raises
        ObjectMissing before the first chunk if there is no such object."""

    async def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error."""

    async def exists(self, key: str) -> bool: ...

    async def close(self) -> None: ...
