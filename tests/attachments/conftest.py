"""Attachments run on the local store by default; `s3_settings` points a test at an
S3-compatible server (moto's server mode on a loopback port: the real S3 HTTP API)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def s3_bucket_name() -> str:
    return f"im-test-{secrets.token_hex(4)}"
