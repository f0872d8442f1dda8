"""Uploads over HTTP on the local store (SPEC §12): every allowed kind, sniffed types, images
re-encoded without EXIF/GPS, thumbnails, refusals, and nothing left behind by a refusal."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.attachments import files
from tests.attachments.helpers import upload, upload_ok
from tests.factories import Consultation, assert_error, consultation, create_user

ATTACHMENT_FIELDS = {
    "attachment_id",
    "group_id",
    "name",
    "mime",
    "size",
    "sha256",
    "width",
    "height",
    "created_at",
}


def store_dir(app: FastAPI) -> Path:
    return Path(app.state.server.core.settings.storage_url.removeprefix("file://"))


def stored_files(app: FastAPI) -> list[str]:
    root = store_dir(app)
    return sorted(path.name for path in root.iterdir()) if root.exists() else []


def spooled(app: FastAPI) -> list[Path]:
    """Temporary files left in the spool directory (none, once an upload has been answered)."""
    root = Path(app.state.server.core.settings.attachment_spool_dir)
    return list(root.iterdir()) if root.exists() else []


async def attachment_rows(app: FastAPI) -> int:
    from sqlalchemy import func, select

    from app.models import Attachment

    async with app.state.server.core.db.read() as session:
        return int((await session.execute(select(func.count()).select_from(Attachment))).scalar())


@pytest.fixture
async def room(client: httpx.AsyncClient) -> Consultation:
    return await consultation(client)


async def download(client: httpx.AsyncClient, room: Consultation, attachment_id: str) -> bytes:
    response = await client.get(
        f"/api/attachments/{attachment_id}/content", headers=room.patient.headers
    )
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize(
    ("data", "name", "mime", "dimensions"),
    [
        (files.image_bytes("JPEG"), "photo.jpg", "image/jpeg", (800, 600)),
        (files.image_bytes("PNG"), "scan.png", "image/png", (800, 600)),
        (files.image_bytes("WEBP"), "rash.webp", "image/webp", (800, 600)),
        (files.animated_gif(), "moving.gif", "image/gif", (64, 64)),
        (files.image_bytes("HEIF", (640, 480)), "IMG_0001.HEIC", "image/jpeg", (640, 480)),
        (files.PDF, "化验单.pdf", "application/pdf", None),
        (files.TEXT, "notes.txt", "text/plain; charset=utf-8", None),
    ],
)
async def test_every_allowed_kind_is_stored(
    client: httpx.AsyncClient,
    app: FastAPI,
    room: Consultation,
    data: bytes,
    name: str,
    mime: str,
    dimensions: tuple[int, int] | None,
) -> None:
    body = await upload_ok(client, room.patient, room.group_id, data, name)
    assert set(body) == ATTACHMENT_FIELDS
    assert body["attachment_id"].startswith("att_")
    assert (body["group_id"], body["name"], body["mime"]) == (room.group_id, name, mime)
    stored = await download(client, room, body["attachment_id"])
    assert body["size"] == len(stored)
    assert body["sha256"] == hashlib.sha256(stored).hexdigest()
    if dimensions is None:
        assert (body["width"], body["height"]) == (None, None)
        assert stored == data  # files are stored as sent
        assert stored_files(app) == [body["attachment_id"]]
    else:
        assert (body["width"], body["height"]) == dimensions
        assert files.size_of(stored) == dimensions
        assert stored_files(app) == sorted(
            [body["attachment_id"], body["attachment_id"] + ".thumb"]
        )


async def test_gps_and_camera_exif_are_gone_from_the_stored_photo(
    client: httpx.AsyncClient, room: Consultation
) -> None:
    original = files.jpeg_with_gps()
    assert files.exif_of(original).get_ifd(files.GPS_IFD)  # the test photo does carry GPS
    body = await upload_ok(client, room.patient, room.group_id, original, "where-i-live.jpg")
    stored = await download(client, room, body["attachment_id"])
    exif = files.exif_of(stored)
    assert not exif.get_ifd(files.GPS_IFD)
    assert dict(exif) == {}
    assert b"PhoneMaker" not in stored
    assert files.size_of(stored) == (1200, 900)


@pytest.mark.parametrize(
    ("size", "expected"),
    [((1200, 900), (320, 240)), ((600, 2400), (80, 320)), ((200, 100), (200, 100))],
)
async def test_thumbnail_has_longest_side_320(
    client: httpx.AsyncClient,
    room: Consultation,
    size: tuple[int, int],
    expected: tuple[int, int],
) -> None:
    body = await upload_ok(client, room.patient, room.group_id, files.image_bytes("JPEG", size))
    response = await client.get(
        f"/api/attachments/{body['attachment_id']}/thumbnail", headers=room.patient.headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"
    assert files.format_of(response.content) == "WEBP"
    assert files.size_of(response.content) == expected


@pytest.mark.parametrize(
    ("data", "name", "mime"),
    [
        (files.image_bytes("PNG"), "report.pdf", "image/png"),
        (files.PDF, "photo.png", "application/pdf"),
        (files.image_bytes("JPEG"), "notes.txt", "image/jpeg"),
    ],
)
async def test_sniffed_type_wins_over_name_and_content_type(
    client: httpx.AsyncClient, room: Consultation, data: bytes, name: str, mime: str
) -> None:
    response = await upload(client, room.patient, room.group_id, data, name, "text/html")
    assert response.status_code == 201, response.text
    assert response.json()["mime"] == mime


@pytest.mark.parametrize(
    "data",
    [
        files.EXECUTABLE,
        files.ELF,
        files.SVG,
        files.BARE_SVG,
        files.HTML,
        files.LATIN1_TEXT,
        files.image_bytes("JPEG")[:-600],  # truncated JPEG
        files.image_bytes("PNG")[:100],  # truncated PNG
        b"\x89PNG\r\n\x1a\n" + b"not really a png" * 4,
    ],
    ids=["exe", "elf", "svg", "bare-svg", "html", "latin1", "trunc-jpeg", "trunc-png", "fake-png"],
)
async def test_refused_types_are_415_and_leave_nothing(
    client: httpx.AsyncClient, app: FastAPI, room: Consultation, data: bytes
) -> None:
    response = await upload(client, room.patient, room.group_id, data, "x.jpg", "image/jpeg")
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert stored_files(app) == []
    assert await attachment_rows(app) == 0


@pytest.mark.parametrize("settings_overrides", [{"attachment_types": "pdf,png"}], indirect=True)
async def test_types_outside_attachment_types_are_415(
    client: httpx.AsyncClient, room: Consultation, settings_overrides: dict[str, Any]
) -> None:
    assert_error(
        await upload(client, room.patient, room.group_id, files.image_bytes("JPEG")),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    await upload_ok(client, room.patient, room.group_id, files.PDF, "a.pdf")


async def test_bad_forms_are_clear_errors(
    client: httpx.AsyncClient, app: FastAPI, room: Consultation
) -> None:
    headers = room.patient.headers
    gid = {"group_id": room.group_id}
    no_file = await client.post(
        "/api/attachments", data=gid, files={"x": ("a", b"1")}, headers=headers
    )
    assert_error(no_file, 422, "FILE_REQUIRED")
    field_only = await client.post(
        "/api/attachments",
        data={**gid, "file": "just text"},
        files={"other": ("b", b"1")},
        headers=headers,
    )
    assert_error(field_only, 422, "FILE_REQUIRED")
    empty = await client.post(
        "/api/attachments", data=gid, files={"file": ("empty.txt", b"")}, headers=headers
    )
    assert_error(empty, 422, "EMPTY_FILE")
    none_chosen = await client.post(
        "/api/attachments", data=gid, files={"file": ("", b"")}, headers=headers
    )
    assert_error(none_chosen, 422, "FILE_REQUIRED")
    two = await client.post(
        "/api/attachments",
        data=gid,
        files=[("file", ("a.pdf", files.PDF)), ("file", ("b.pdf", files.PDF))],
        headers=headers,
    )
    assert_error(two, 422, "TOO_MANY_FILES")
    no_group = await client.post(
        "/api/attachments", files={"file": ("a.pdf", files.PDF)}, headers=headers
    )
    assert_error(no_group, 422, "VALIDATION_ERROR")
    not_a_form = await client.post("/api/attachments", json=gid, headers=headers)
    assert_error(not_a_form, 422, "VALIDATION_ERROR")
    assert stored_files(app) == []
    assert await attachment_rows(app) == 0
    assert spooled(app) == []


async def test_only_members_upload(
    client: httpx.AsyncClient, app: FastAPI, room: Consultation
) -> None:
    stranger = await create_user(client)
    assert_error(await upload(client, stranger, room.group_id, files.PDF), 403, "NOT_A_MEMBER")
    assert_error(await upload(client, stranger, "group_missing", files.PDF), 404, "GROUP_NOT_FOUND")
    anonymous = await client.post(
        "/api/attachments", data={"group_id": room.group_id}, files={"file": ("a", files.PDF)}
    )
    assert anonymous.status_code == 401
    assert stored_files(app) == []


@pytest.mark.parametrize("settings_overrides", [{"attachment_max_mb": 1}], indirect=True)
async def test_over_the_limit_is_413_and_leaves_nothing(
    client: httpx.AsyncClient, app: FastAPI, room: Consultation, settings_overrides: dict[str, Any]
) -> None:
    limit = 1024 * 1024
    exactly = b"a" * limit
    assert (await upload(client, room.patient, room.group_id, exactly, "a.txt")).status_code == 201
    over = await upload(client, room.patient, room.group_id, exactly + b"a", "b.txt")
    assert_error(over, 413, "ATTACHMENT_TOO_LARGE")
    assert await attachment_rows(app) == 1
    assert len(stored_files(app)) == 1


def _png(mode: str, size: tuple[int, int], **info: Any) -> bytes:
    import io

    from PIL import Image

    image = Image.new(mode, size)
    image.info.update(info)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **info)
    return buffer.getvalue()


async def test_a_decompression_bomb_is_refused_before_decoding(
    client: httpx.AsyncClient, app: FastAPI, room: Consultation
) -> None:
    bomb = _png("1", (8000, 7000))  # 56 megapixels in a few kilobytes
    assert len(bomb) < 100_000
    response = await upload(client, room.patient, room.group_id, bomb, "bomb.png")
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert stored_files(app) == []


@pytest.mark.parametrize(
    ("mode", "info"), [("P", {"transparency": 0}), ("LA", {}), ("I;16", {}), ("CMYK", {})]
)
async def test_unusual_image_modes_get_thumbnails(
    client: httpx.AsyncClient, room: Consultation, mode: str, info: dict[str, Any]
) -> None:
    data = _png(mode, (400, 200), **info) if mode != "CMYK" else files.image_bytes("JPEG")
    if mode == "CMYK":
        import io

        from PIL import Image

        buffer = io.BytesIO()
        Image.new("CMYK", (400, 200)).save(buffer, format="JPEG")
        data = buffer.getvalue()
    body = await upload_ok(client, room.patient, room.group_id, data, "odd")
    thumbnail = await client.get(
        f"/api/attachments/{body['attachment_id']}/thumbnail", headers=room.patient.headers
    )
    assert files.size_of(thumbnail.content) == (320, 160)


async def test_oversized_fields_and_too_many_parts_are_refused(
    client: httpx.AsyncClient, app: FastAPI, room: Consultation
) -> None:
    headers = room.patient.headers
    long_field = await client.post(
        "/api/attachments",
        data={"group_id": room.group_id, "note": "x" * 2000},
        files={"file": ("a.pdf", files.PDF)},
        headers=headers,
    )
    assert_error(long_field, 422, "VALIDATION_ERROR")
    many = await client.post(
        "/api/attachments",
        data={"group_id": room.group_id, **{f"f{i}": "1" for i in range(10)}},
        files={"file": ("a.pdf", files.PDF)},
        headers=headers,
    )
    assert_error(many, 422, "VALIDATION_ERROR")
    bad_group = await client.post(
        "/api/attachments",
        data={"group_id": "../etc"},
        files={"file": ("a.pdf", files.PDF)},
        headers=headers,
    )
    assert_error(bad_group, 422, "VALIDATION_ERROR")
    assert stored_files(app) == [] and spooled(app) == []


@pytest.mark.parametrize(
    ("sent_name", "stored_name"),
    [("C:\\Users\\pat\\报告.pdf", "报告.pdf"), ("a/b/c.pdf", "c.pdf"), ("   ", "file")],
)
async def test_names_lose_directories_and_control_characters(
    client: httpx.AsyncClient, room: Consultation, sent_name: str, stored_name: str
) -> None:
    body = await upload_ok(client, room.patient, room.group_id, files.PDF, sent_name)
    assert body["name"] == stored_name


async def test_the_orphan_sweep_on_the_local_store(
    client: httpx.AsyncClient, app: FastAPI, room: Consultation
) -> None:
    from datetime import timedelta

    from app.services.attachments.cleanup import sweep_orphans

    orphan = await upload_ok(client, room.patient, room.group_id, files.image_bytes("PNG"))
    layer = app.state.server.attachments
    db = app.state.server.core.db
    assert await sweep_orphans(db, layer.storage, timedelta(hours=24)) == 0
    assert await sweep_orphans(db, layer.storage, timedelta(0)) == 1
    assert orphan["attachment_id"] not in "".join(stored_files(app))
    assert await attachment_rows(app) == 0
