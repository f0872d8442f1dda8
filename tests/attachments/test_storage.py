"""The storage seam on both stores: whole and ranged reads, missing objects, deletes; and a
store that fails leaves no attachment row (503 STORAGE_UNAVAILABLE)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.storage import ObjectMissing, Storage, create_storage
from app.storage.local import LocalStorage
from tests.attachments import files
from tests.attachments.conftest import S3_KEYS
from tests.attachments.helpers import upload
from tests.attachments.test_upload import attachment_rows
from tests.factories import assert_error, consultation


@pytest.fixture(params=["local", "s3"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, s3_server: str, bucket: str
) -> AsyncIterator[Storage]:
    if request.param == "local":
        url = f"file://{tmp_path / 'store'}"
        extra: dict[str, Any] = {}
    else:
        url = f"s3://{bucket}"
        extra = {"s3_endpoint_url": s3_server, **S3_KEYS}
    storage = create_storage(Settings(_env_file=None, storage_url=url, **extra))
    try:
        yield storage
    finally:
        await storage.close()


async def read_all(storage: Storage, key: str, start: int, end: int) -> bytes:
    return b"".join([chunk async for chunk in await storage.read(key, start, end)])


async def test_put_read_delete(store: Storage, tmp_path: Path) -> None:
    source = tmp_path / "source"
    data = bytes(range(256)) * 1024  # 256 KiB: several chunks
    source.write_bytes(data)
    await store.put("att_x", source, "application/octet-stream")
    assert await store.exists("att_x")
    assert await read_all(store, "att_x", 0, len(data) - 1) == data
    assert await read_all(store, "att_x", 1000, 70_000) == data[1000:70_001]
    await store.delete("att_x")
    await store.delete("att_x")  # deleting twice is fine
    assert not await store.exists("att_x")
    with pytest.raises(ObjectMissing):
        await store.read("att_x", 0, 10)


@pytest.mark.parametrize("key", ["", "../escape", "a/b", ".hidden", "a\\b"])
def test_local_keys_stay_inside_the_directory(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="bad storage key"):
        LocalStorage(tmp_path)._path(key)


@pytest.fixture
def settings_overrides(tmp_path: Path, s3_server: str) -> dict[str, Any]:
    """A bucket that does not exist: every write to the store fails."""
    return {
        "storage_url": "s3://no-such-bucket",
        "s3_endpoint_url": s3_server,
        "attachment_spool_dir": str(tmp_path / "spool"),
        **S3_KEYS,
    }


async def test_a_failing_store_is_503_and_leaves_no_row(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    room = await consultation(client)
    for data in (files.PDF, files.image_bytes("JPEG")):
        response = await upload(client, room.patient, room.group_id, data, "a")
        assert_error(response, 503, "STORAGE_UNAVAILABLE")
    assert await attachment_rows(app) == 0
