"""An S3-compatible store (AWS S3, MinIO, Ceph, Aliyun OSS, …) through aioboto3. One client per
process, opened on first use; uploads go through the SDK's managed transfer (multipart for
large files), downloads stream the requested range."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aioboto3
from aiobotocore.config import AioConfig
from botocore.exceptions import ClientError

from app.storage.base import CHUNK_BYTES, ObjectMissing

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class S3Storage:
    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None,
        access_key_id: str | None,
        secret_access_key: str | None,
        region: str,
    ) -> None:
        self.bucket = bucket
        self._session = aioboto3.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
        )
        self._endpoint_url = endpoint_url
        self._stack = contextlib.AsyncExitStack()
        self._client: S3Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> S3Client:
        async with self._lock:
            if self._client is None:
                self._client = await self._stack.enter_async_context(
                    self._session.client(
                        "s3",
                        endpoint_url=self._endpoint_url,
                        config=AioConfig(s3={"addressing_style": "path"}),
                    )
                )
            return self._client

    async def put(self, key: str, source: Path, content_type: str) -> None:
        client = await self.client()
        await client.upload_file(
            str(source), self.bucket, key, ExtraArgs={"ContentType": content_type}
        )

    async def read(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        client = await self.client()
        try:
            response = await client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end}"
            )
        except ClientError as exc:
            if _error_code(exc) in MISSING_CODES:
                raise ObjectMissing(key) from exc
            raise
        return _chunks(response["Body"])

    async def delete(self, key: str) -> None:
        client = await self.client()
        await client.delete_object(Bucket=self.bucket, Key=key)

    async def exists(self, key: str) -> bool:
        client = await self.client()
        try:
            await client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in MISSING_CODES:
                return False
            raise
        return True

    async def close(self) -> None:
        self._client = None
        await self._stack.aclose()


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


async def _chunks(body: Any) -> AsyncIterator[bytes]:
    try:
        while chunk := await body.read(CHUNK_BYTES):
            yield chunk
    finally:
        body.close()
