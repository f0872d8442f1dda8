"""An upload's multipart body (`file`, `group_id`) read as a stream into a temporary file.

python-multipart's push parser sees each piece of the body as it arrives; the file's bytes go
to disk (in a thread) piece by piece, so memory stays flat whatever the size. The size limit is
enforced while reading: at `max_bytes + 1` the read stops and the request is refused, before
the rest of the body is ever read. On every failure the temporary file is removed.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

if TYPE_CHECKING:  # the library declares its callbacks' type for type checkers only
    from python_multipart.multipart import MultipartCallbacks

from app.errors import InvalidInput
from app.schemas.common import ID_PATTERN

MAX_FIELD_BYTES = 1024
"""Text fields (`group_id`) are short; a longer one is refused."""
MAX_PARTS = 8


class TooLarge(InvalidInput):
    http_status = 413
    default_code = "ATTACHMENT_TOO_LARGE"


def too_large_message(max_bytes: int) -> str:
    return f"The file is larger than {max_bytes // (1024 * 1024)} MB"


@dataclass
class ReceivedUpload:
    """The parsed form: the file is on disk at `path` (the caller removes it: `discard`)."""

    group_id: str
    name: str
    path: Path
    size: int

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None
    value: bytearray = field(default_factory=bytearray)


class _FormReader:
    """Collects the parser's callbacks; file bytes are queued and written by `drain`."""

    def __init__(self, max_bytes: int, spool_dir: str | None) -> None:
        self.max_bytes = max_bytes
        self.spool_dir = spool_dir
        self.fields: dict[str, str] = {}
        self.files: list[tuple[str, str]] = []
        self.file_size = 0
        self.path: Path | None = None
        self.handle: BinaryIO | None = None
        self.pending: list[bytes] = []
        self.parts = 0
        self._part = _Part()
        self._header_field = bytearray()
        self._header_value = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._header_field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise InvalidInput("Too many form fields", code="VALIDATION_ERROR")
        self._part = _Part()

    def _header_end(self) -> None:
        self._part.headers[bytes(self._header_field).lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        disposition = self._part.headers.get(b"content-disposition", b"")
        _, options = parse_options_header(disposition)
        self._part.name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is not None:
            self._part.filename = filename.decode("utf-8", "replace")
            if self._part.name == "file":
                self.files.append((self._part.name, self._part.filename))
                if len(self.files) > 1:
                    raise InvalidInput("Send one file per upload", code="TOO_MANY_FILES")

    def _is_file(self) -> bool:
        return self._part.filename is not None and self._part.name == "file"

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file():
            self.file_size += end - start
            if self.file_size > self.max_bytes:
                raise TooLarge(too_large_message(self.max_bytes))
            self.pending.append(data[start:end])
            return
        self._part.value.extend(data[start:end])
        if len(self._part.value) > MAX_FIELD_BYTES:
            raise InvalidInput(f"Field {self._part.name!r} is too long", code="VALIDATION_ERROR")

    def _part_end(self) -> None:
        if self._part.filename is None and self._part.name:
            self.fields[self._part.name] = self._part.value.decode("utf-8", "replace")

    async def drain(self) -> None:
        """Write the queued file bytes (in a thread: the event loop never waits on the disk)."""
        if not self.pending:
            return
        chunk, self.pending = b"".join(self.pending), []
        if self.handle is None:
            if self.spool_dir is not None:
                await asyncio.to_thread(os.makedirs, self.spool_dir, exist_ok=True)
            descriptor, name = tempfile.mkstemp(prefix="upload-", dir=self.spool_dir)
            self.path = Path(name)
            self.handle = os.fdopen(descriptor, "wb")
        await asyncio.to_thread(self.handle.write, chunk)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def remove(self) -> None:
        self.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


async def receive_upload(
    content_type: str | None,
    body: AsyncIterator[bytes],
    *,
    max_bytes: int,
    spool_dir: str | None = None,
    check_group: Callable[[str], Awaitable[None]] | None = None,
) -> ReceivedUpload:
    """Parse the form from `body`. Raises InvalidInput (not a form, no `group_id`, no file
    (FILE_REQUIRED), two files (TOO_MANY_FILES), an empty file (EMPTY_FILE)) or TooLarge.

    `check_group` runs as soon as a valid `group_id` has arrived: when it comes before the file
    (as browsers and curl send a form written that way), a refusal (not a member) stops the
    upload before any of the file is written."""
    media_type, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise InvalidInput("Send the file as multipart/form-data", code="VALIDATION_ERROR")
    reader = _FormReader(max_bytes, spool_dir)
    parser = MultipartParser(boundary, reader.callbacks())
    pending_check = check_group
    try:
        async for piece in body:
            parser.write(piece)
            group_id = reader.fields.get("group_id", "")
            if pending_check is not None and re.fullmatch(ID_PATTERN, group_id):
                check, pending_check = pending_check, None
                await check(group_id)
            await reader.drain()
        parser.finalize()
        await reader.drain()
        reader.close()
        return _complete(reader)
    except BaseException:
        reader.remove()
        raise


def _complete(reader: _FormReader) -> ReceivedUpload:
    if not reader.files:
        raise InvalidInput("The form has no `file`", code="FILE_REQUIRED")
    group_id = reader.fields.get("group_id", "")
    if not re.fullmatch(ID_PATTERN, group_id):
        raise InvalidInput("The form needs a valid `group_id`", code="VALIDATION_ERROR")
    if reader.file_size == 0 or reader.path is None:
        if not reader.files[0][1]:  # what a browser sends when no file was chosen
            raise InvalidInput("The form has no `file`", code="FILE_REQUIRED")
        raise InvalidInput("The file is empty", code="EMPTY_FILE")
    name = _clean_name(reader.files[0][1])
    return ReceivedUpload(group_id, name, reader.path, reader.file_size)


def _clean_name(name: str) -> str:
    """The file's own name (no directories, no control characters), at most 255 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()[:255]
    return cleaned or "file"
