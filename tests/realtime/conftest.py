"""Redis for the real-time stores: the machine's (IM_TEST_REDIS_URL) or a throwaway server of
the session's, each test under a prefix of its own, and a client pointed at a closed port for
the failure paths."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from tests.databases import REDIS_URL
from tests.integration.processes import RedisServer

STORES = ["memory", "redis"]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if REDIS_URL:
        yield REDIS_URL
        return
    server = RedisServer()
    try:
        server.start()
        yield server.url
    finally:
        server.destroy()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"imtest-{secrets.token_hex(4)}"


@pytest.fixture
async def dead_redis() -> AsyncIterator[Redis]:
    """A client for a Redis that is not there (nothing listens on port 1)."""
    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        yield client
    finally:
        await client.aclose()


def store_errors(store: str) -> float:
    return REGISTRY.get_sample_value("im_store_errors_total", {"store": store}) or 0.0
