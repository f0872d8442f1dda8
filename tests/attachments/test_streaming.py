"""The size limit holds while the body streams (SPEC §12): an upload over ATTACHMENT_MAX_MB is
refused before the rest of the body is read, and an upload cut off half-way leaves nothing in
storage, the spool directory or the database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.ai.helpers import eventually
from tests.attachments import files
from tests.attachments.test_upload import attachment_rows, spooled, stored_files
from tests.conftest import LiveServer
from tests.factories import Consultation, assert_error, consultation, create_user

pytestmark = pytest.mark.parametrize(
    "settings_overrides", [{"attachment_max_mb": 1}], indirect=True
)

BOUNDARY = "----im-test-boundary"
CHUNK = 64 * 1024


def form_head(group_id: str, name: str = "big.txt") -> bytes:
    return (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="group_id"\r\n\r\n{group_id}\r\n'
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()


FORM_TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()
HEADERS = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


class Body:
    """A chunked request body that counts what the server pulled."""

    def __init__(self, head: bytes, file_bytes: int) -> None:
        self.head = head
        self.file_bytes = file_bytes
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        sent = 0
        while sent < self.file_bytes:
            piece = b"a" * min(CHUNK, self.file_bytes - sent)
            sent += len(piece)
            self.pulled = sent
            yield piece
        yield FORM_TAIL


@pytest.fixture
async def room(client: httpx.AsyncClient) -> Consultation:
    return await consultation(client)


async def test_over_the_limit_is_refused_before_the_body_is_read(
    client: httpx.AsyncClient, app: FastAPI, room: Consultation, settings_overrides: dict[str, Any]
) -> None:
    body = Body(form_head(room.group_id), 50 * 1024 * 1024)
    response = await client.post(
        "/api/attachments", content=body, headers={**HEADERS, **room.patient.headers}
    )
    assert_error(response, 413, "ATTACHMENT_TOO_LARGE")
    assert body.pulled <= 1024 * 1024 + 2 * CHUNK  # refused at the limit, not after 50 MB
    assert stored_files(app) == [] and spooled(app) == []
    assert await attachment_rows(app) == 0


async def test_a_declared_length_over_the_limit_is_refused_at_once(
    client: httpx.AsyncClient, app: FastAPI, room: Consultation, settings_overrides: dict[str, Any]
) -> None:
    body = Body(form_head(room.group_id), 5 * 1024 * 1024)
    response = await client.post(
        "/api/attachments",
        content=body,
        headers={**HEADERS, **room.patient.headers, "Content-Length": str(6 * 1024 * 1024)},
    )
    assert_error(response, 413, "ATTACHMENT_TOO_LARGE")
    assert body.pulled == 0


async def test_an_interrupted_upload_leaves_nothing(
    live_server: LiveServer,
    live_client: httpx.AsyncClient,
    settings_overrides: dict[str, Any],
) -> None:
    """A real client on a real socket sends half the file, then hangs up."""
    room = await consultation(live_client)
    app = live_server.app
    head = form_head(room.group_id)
    _reader, writer = await asyncio.open_connection("127.0.0.1", live_server.port)
    writer.write(
        (
            "POST /api/attachments HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: Bearer {room.patient.token}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {len(head) + 900 * 1024 + len(FORM_TAIL)}\r\n\r\n"
        ).encode()
        + head
        + b"a" * (300 * 1024)
    )
    await writer.drain()
    await eventually(lambda: bool(spooled(app)))  # the server is writing the upload
    writer.close()
    await writer.wait_closed()
    await eventually(lambda: not spooled(app))
    assert stored_files(app) == []
    assert await attachment_rows(app) == 0
    ok = await live_client.post(
        "/api/attachments",
        data={"group_id": room.group_id},
        files={"file": ("a.pdf", files.PDF)},
        headers=room.patient.headers,
    )
    assert ok.status_code == 201


async def test_a_large_upload_within_the_limit_streams_to_storage(
    client: httpx.AsyncClient, app: FastAPI, room: Consultation, settings_overrides: dict[str, Any]
) -> None:
    body = Body(form_head(room.group_id, "日志.txt"), 1024 * 1024)
    response = await client.post(
        "/api/attachments", content=body, headers={**HEADERS, **room.patient.headers}
    )
    assert response.status_code == 201, response.text
    assert response.json()["size"] == 1024 * 1024
    assert response.json()["name"] == "日志.txt"
    assert spooled(app) == []


def _big_photo_in(spool: Path) -> Path:
    spool.mkdir(parents=True, exist_ok=True)
    source = spool / "upload-big.jpg"
    source.write_bytes(files.image_bytes("JPEG", (4000, 3000)))
    return source


async def test_an_upload_abandoned_while_its_image_is_processed_leaves_nothing(
    client: httpx.AsyncClient, app: FastAPI, settings_overrides: dict[str, Any]
) -> None:
    """The re-encoding thread cannot be stopped: it finishes, and what it wrote goes."""
    import shutil

    from app.repositories.user_repository import UserRepository
    from app.services.attachments.receive import ReceivedUpload

    room = await consultation(client)
    service = app.state.server.attachments.service
    spool = Path(service.spool_dir)
    source = _big_photo_in(spool)
    async with app.state.server.core.db.read() as session:
        user = await UserRepository(session).get_by_id(room.patient.user_id)
    assert user is not None
    upload = ReceivedUpload(room.group_id, "big.jpg", source, source.stat().st_size)
    task = asyncio.create_task(service.store(user, upload))
    await eventually(lambda: any(p.suffix == ".img" for p in spool.iterdir()), within=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await eventually(lambda: not list(spool.iterdir()), within=10)
    assert stored_files(app) == []
    assert await attachment_rows(app) == 0
    shutil.rmtree(spool)


async def test_a_stranger_is_refused_before_the_file_is_read(
    client: httpx.AsyncClient, app: FastAPI, room: Consultation, settings_overrides: dict[str, Any]
) -> None:
    """`group_id` comes first in the form: the membership check stops the upload there."""
    stranger = await create_user(client)
    body = Body(form_head(room.group_id), 50 * 1024 * 1024)
    response = await client.post(
        "/api/attachments", content=body, headers={**HEADERS, **stranger.headers}
    )
    assert_error(response, 403, "NOT_A_MEMBER")
    assert body.pulled <= 2 * CHUNK
    assert spooled(app) == []
    unknown = Body(form_head("group_nope"), 50 * 1024 * 1024)
    response = await client.post(
        "/api/attachments", content=unknown, headers={**HEADERS, **stranger.headers}
    )
    assert_error(response, 404, "GROUP_NOT_FOUND")
    assert unknown.pulled <= 2 * CHUNK
