"""Attachments run on the local store by default; `s3_settings` points a test at an
S3-compatible server (moto's server mode on a loopback port: the real S3 HTTP API)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aioboto3
import pytest
from moto.server import ThreadedMotoServer

S3_KEYS = {"s3_access_key_id": "testing", "s3_secret_access_key": "testing"}


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    values: dict[str, Any] = {
        "storage_url": f"file://{tmp_path / 'attachments'}",
        "attachment_spool_dir": str(tmp_path / "spool"),
    }
    values.update(getattr(request, "param", {}))
    return values


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """An S3-compatible HTTP server on a free loopback port, for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_client(endpoint: str) -> Any:
    session = aioboto3.Session(
        aws_access_key_id=S3_KEYS["s3_access_key_id"],
        aws_secret_access_key=S3_KEYS["s3_secret_access_key"],
        region_name="us-east-1",
    )
    return session.client("s3", endpoint_url=endpoint)


@pytest.fixture
async def bucket(s3_server: str) -> AsyncIterator[str]:
    name = f"im-test-{secrets.token_hex(4)}"
    async with s3_client(s3_server) as s3:
        await s3.create_bucket(Bucket=name)
    yield name
    async with s3_client(s3_server) as s3:
        listed = await s3.list_objects_v2(Bucket=name)
        for item in listed.get("Contents", []):
            await s3.delete_object(Bucket=name, Key=item["Key"])
        await s3.delete_bucket(Bucket=name)
