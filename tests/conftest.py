"""Shared fixtures: one migrated database per backend, settings, the app, an HTTP client, and a
real uvicorn server on loopback for WebSocket tests.

Every database test runs once per backend (`[sqlite]`, `[postgres]` when IM_TEST_POSTGRES_URL
is set, `[mysql]` when IM_TEST_MYSQL_URL is set). Tests commit for real (concurrency tests need
real connections); isolation comes from emptying every table after each test.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from app.config import Settings
from app.db.database import create_engine
from app.db.session import Database
from app.main import create_app
from app.websocket.session import MAX_FRAME_BYTES
from tests.databases import BACKENDS, backends, fresh_database, migrate, truncate_all

SERVICE_KEY = "test-service-key"


@pytest.fixture(scope="session", params=backends())
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    async with fresh_database(request.param, tmp_path_factory.mktemp("db")) as url:
        await migrate(url)
        yield url


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Override in a module or with `@pytest.mark.parametrize(..., indirect=True)`."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def settings(database_url: str, tmp_path: Path, settings_overrides: dict[str, Any]) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "secret_key": "test-secret-key-not-for-production-0123456789",
        "service_api_key": SERVICE_KEY,
        "ai_enabled": False,
        "rate_limit_messages_per_minute": 0,
        "redis_prefix": f"imtest-{secrets.token_hex(4)}",
        "log_level": "WARNING",
        "database_pool_size": 20,
        # Most tests sign doctors up directly; the invite default is tested on its own.
        "doctor_signup": "open",
    }
    values.update(settings_overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    """A database handle for repository tests; tables are emptied afterwards."""
    database = Database(create_engine(settings))
    try:
        yield database
    finally:
        await truncate_all(database.engine)
        await database.dispose()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        try:
            yield application
        finally:
            await truncate_all(application.state.server.core.db.engine)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@dataclass
class LiveServer:
    app: FastAPI
    server: uvicorn.Server
    port: int

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, user_id: str, token: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/{user_id}?token={token}"


async def start_live_server(settings: Settings) -> tuple[LiveServer, asyncio.Task[None]]:
    application = create_app(settings)
    config = uvicorn.Config(
        application,
        host="127.0.0.1",
        port=0,
        ws_max_size=MAX_FRAME_BYTES,
        lifespan="on",
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return LiveServer(application, server, port), task


async def stop_live_server(live: LiveServer, task: asyncio.Task[None]) -> None:
    await truncate_all(live.app.state.server.core.db.engine)
    live.server.should_exit = True
    await asyncio.wait_for(task, timeout=15)


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    """The app served by a real uvicorn on a free loopback port, in this event loop."""
    live, task = await start_live_server(settings)
    try:
        yield live
    finally:
        await stop_live_server(live, task)


@pytest.fixture
async def live_client(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.http_url, timeout=10) as http:
        yield http


def pytest_configure(config: pytest.Config) -> None:
    import os

    from tests.databases import MYSQL_URL, POSTGRES_URL, REDIS_URL

    required = {
        "IM_TEST_POSTGRES_URL": POSTGRES_URL,
        "IM_TEST_MYSQL_URL": MYSQL_URL,
        "IM_TEST_REDIS_URL": REDIS_URL,
    }
    missing = [name for name, value in required.items() if not value]
    if os.environ.get("IM_TEST_REQUIRE_SERVICES") and missing:
        raise pytest.UsageError(f"IM_TEST_REQUIRE_SERVICES is set but not {', '.join(missing)}")


BACKEND_OF_TEST = pytest.StashKey[dict[str, str]]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Remember which backend each database test runs on (its parameter naming one)."""
    backend_of: dict[str, str] = {}
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        backend = next((v for v in params.values() if isinstance(v, str) and v in BACKENDS), None)
        if backend is not None:
            backend_of[item.nodeid] = backend
    config.stash[BACKEND_OF_TEST] = backend_of


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Say how many database tests ran on each backend, so a run shows every backend's share."""
    backend_of = config.stash.get(BACKEND_OF_TEST, {})
    counts: dict[str, int] = {}
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get(
        "failed", []
    ):
        backend = backend_of.get(report.nodeid)
        if report.when == "call" and backend is not None:
            counts[backend] = counts.get(backend, 0) + 1
    if counts:
        line = ", ".join(f"{count} on {backend}" for backend, count in sorted(counts.items()))
        terminalreporter.write_line(f"database tests: {line}")
