"""The S3 shape (SPEC §12): the same uploads, sends and downloads against an S3-compatible
server (moto's server mode on a loopback port, spoken to over HTTP by aioboto3), and a refused
upload or an orphan leaves no object in the bucket."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.services.attachments.cleanup import sweep_orphans
from tests.attachments import files
from tests.attachments.conftest import S3_KEYS, s3_client
from tests.attachments.helpers import send_attachment, upload, upload_ok
from tests.factories import Consultation, assert_error, consultation


@pytest.fixture
def settings_overrides(bucket: str, s3_server: str, tmp_path: Path) -> dict[str, Any]:
    return {
        "storage_url": f"s3://{bucket}",
        "s3_endpoint_url": s3_server,
        "attachment_spool_dir": str(tmp_path / "spool"),
        "attachment_max_mb": 1,
        **S3_KEYS,
    }


async def objects(s3_server: str, bucket: str) -> list[str]:
    async with s3_client(s3_server) as s3:
        listed = await s3.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture
async def room(client: httpx.AsyncClient) -> Consultation:
    return await consultation(client)


async def test_image_and_file_round_trip_through_s3(
    client: httpx.AsyncClient, room: Consultation, s3_server: str, bucket: str
) -> None:
    photo = await upload_ok(client, room.patient, room.group_id, files.jpeg_with_gps(), "a.jpg")
    report = await upload_ok(client, room.patient, room.group_id, files.TEXT, "报告.txt")
    assert await objects(s3_server, bucket) == sorted(
        [photo["attachment_id"], photo["attachment_id"] + ".thumb", report["attachment_id"]]
    )
    sent = await send_attachment(client, room.patient, room.group_id, photo["attachment_id"])
    assert sent.status_code == 201
    attachment = sent.json()["attachment"]
    image = await client.get(attachment["url"])
    assert image.status_code == 200
    assert not files.exif_of(image.content).get_ifd(files.GPS_IFD)
    assert len(image.content) == photo["size"]
    thumbnail = await client.get(attachment["thumbnail_url"])
    assert files.size_of(thumbnail.content) == (320, 240)
    ranged = await client.get(
        f"/api/attachments/{report['attachment_id']}/content",
        headers={**room.doctor.headers, "Range": "bytes=3-12"},
    )
    assert ranged.status_code == 206
    assert ranged.content == files.TEXT[3:13]
    assert ranged.headers["content-range"] == f"bytes 3-12/{len(files.TEXT)}"


async def test_refusals_leave_no_object(
    client: httpx.AsyncClient, room: Consultation, s3_server: str, bucket: str
) -> None:
    assert_error(
        await upload(client, room.patient, room.group_id, files.HTML), 415, "UNSUPPORTED_MEDIA_TYPE"
    )
    too_big = await upload(client, room.patient, room.group_id, b"a" * (1024 * 1024 + 1), "t.txt")
    assert_error(too_big, 413, "ATTACHMENT_TOO_LARGE")
    assert await objects(s3_server, bucket) == []


async def test_object_gone_from_the_store_is_404(
    client: httpx.AsyncClient, room: Consultation, s3_server: str, bucket: str
) -> None:
    uploaded = await upload_ok(client, room.patient, room.group_id, files.PDF, "a.pdf")
    async with s3_client(s3_server) as s3:
        await s3.delete_object(Bucket=bucket, Key=uploaded["attachment_id"])
    response = await client.get(
        f"/api/attachments/{uploaded['attachment_id']}/content", headers=room.doctor.headers
    )
    assert_error(response, 404, "ATTACHMENT_NOT_FOUND")


async def test_orphans_are_swept_from_s3(
    client: httpx.AsyncClient, app: FastAPI, room: Consultation, s3_server: str, bucket: str
) -> None:
    kept = await upload_ok(client, room.patient, room.group_id, files.image_bytes("PNG"), "a.png")
    orphan = await upload_ok(client, room.patient, room.group_id, files.image_bytes("PNG"), "b.png")
    assert (
        await send_attachment(client, room.patient, room.group_id, kept["attachment_id"])
    ).status_code == 201
    layer = app.state.server.attachments
    db = app.state.server.core.db
    # Not old enough yet: nothing goes.
    assert await sweep_orphans(db, layer.storage, timedelta(hours=24)) == 0
    assert len(await objects(s3_server, bucket)) == 4
    assert await sweep_orphans(db, layer.storage, timedelta(seconds=0)) == 1
    assert await objects(s3_server, bucket) == sorted(
        [kept["attachment_id"], kept["attachment_id"] + ".thumb"]
    )
    late = await send_attachment(client, room.patient, room.group_id, orphan["attachment_id"])
    assert_error(late, 422, "INVALID_ATTACHMENT")


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (files.image_bytes("PNG"), "image/png"),
        (files.image_bytes("WEBP"), "image/webp"),
        (files.animated_gif(), "image/gif"),
        (files.image_bytes("HEIF", (640, 480)), "image/jpeg"),
        (files.PDF, "application/pdf"),
    ],
)
async def test_every_kind_round_trips_through_s3(
    client: httpx.AsyncClient, room: Consultation, data: bytes, mime: str
) -> None:
    uploaded = await upload_ok(client, room.patient, room.group_id, data, "x")
    assert uploaded["mime"] == mime
    response = await client.get(
        f"/api/attachments/{uploaded['attachment_id']}/content", headers=room.doctor.headers
    )
    assert response.headers["content-type"].startswith(mime)
    assert len(response.content) == uploaded["size"]
