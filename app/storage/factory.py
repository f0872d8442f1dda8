"""`STORAGE_URL` → a store."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings
from app.storage.base import Storage
from app.storage.local import LocalStorage


def create_storage(settings: Settings) -> Storage:
    url = settings.storage_url
    if url.startswith("s3://"):
        # Imported only in this shape: the embedded default never loads the S3 SDK.
        from app.storage.s3 import S3Storage

        return S3Storage(
            url.removeprefix("s3://").strip("/"),
            endpoint_url=settings.s3_endpoint_url or None,
            access_key_id=settings.s3_access_key_id or None,
            secret_access_key=settings.s3_secret_access_key.get_secret_value() or None,
            region=settings.s3_region,
        )
    return LocalStorage(Path(url.removeprefix("file://")))
