"""Fixtures for real-process tests: server processes, a throwaway PostgreSQL cluster and Redis,
and the scaled shape's backing services (the shared ones when CI names them, else throwaway).

SQLite is never used for two processes: without IM_TEST_POSTGRES_URL the scaled tests run on
a throwaway PostgreSQL cluster started here, and without IM_TEST_REDIS_URL on a throwaway Redis.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.databases import POSTGRES_URL, REDIS_URL, fresh_database, migrate
from tests.integration.processes import (
    PostgresCluster,
    RedisServer,
    ServerProcess,
    delete_prefix,
    server_env,
    tail,
)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _failed(node: pytest.Item) -> bool:
    return any(
        getattr(getattr(node, f"report_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster for the session (never the shared one)."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
async def throwaway_postgres_url(pg_cluster: PostgresCluster) -> str:
    """A fresh, migrated database on the throwaway cluster (dropped with the cluster)."""
    url = pg_cluster.create_database(f"im_it_{secrets.token_hex(4)}")
    await migrate(url)
    return url


@asynccontextmanager
async def postgres_database(request: pytest.FixtureRequest, workdir: Path) -> AsyncIterator[str]:
    """A fresh migrated PostgreSQL database: on the shared server when IM_TEST_POSTGRES_URL is
    set (CI), else on the session's throwaway cluster."""
    if POSTGRES_URL:
        async with fresh_database("postgres", workdir) as url:
            await migrate(url)
            yield url
        return
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    url = cluster.create_database(f"im_it_{secrets.token_hex(4)}")
    await migrate(url)
    yield url


@pytest.fixture
async def scaled_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """PostgreSQL for several processes (SQLite is never shared between processes)."""
    async with postgres_database(request, tmp_path) as url:
        yield url


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    async with fresh_database("sqlite", tmp_path) as url:
        await migrate(url)
        return url


@pytest.fixture
async def mysql_url(tmp_path: Path) -> AsyncIterator[str]:
    """A fresh migrated database on the shared MySQL/MariaDB server (IM_TEST_MYSQL_URL)."""
    async with fresh_database("mysql", tmp_path) as url:
        await migrate(url)
        yield url


# --------------------------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def session_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def redis_url(request: pytest.FixtureRequest) -> str:
    """The shared Redis when IM_TEST_REDIS_URL is set, else a throwaway one for the session."""
    if REDIS_URL:
        return REDIS_URL
    server: RedisServer = request.getfixturevalue("session_redis")
    return server.url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key/channel prefix unique to this test; its keys are removed afterwards."""
    prefix = f"imit-{secrets.token_hex(5)}"
    yield prefix
    delete_prefix(redis_url, prefix)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis this test may stop and restart."""
    server = RedisServer(tmp_path / "redis")
    try:
        server.start()
        yield server
    finally:
        server.destroy()


# --------------------------------------------------------------------------------------------
# Server processes
# --------------------------------------------------------------------------------------------


class ServerFactory:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[ServerProcess] = []

    def create(
        self,
        name: str,
        *,
        database_url: str,
        broker_url: str = "memory://",
        redis_prefix: str = "im",
        extra: Mapping[str, str] | None = None,
        entry: str = "app",
    ) -> ServerProcess:
        env = server_env(
            database_url=database_url,
            broker_url=broker_url,
            redis_prefix=redis_prefix,
            extra=extra,
        )
        server = ServerProcess(name=name, env=env, workdir=self.workdir / "servers", entry=entry)
        self.started.append(server)
        return server

    async def start(self, name: str, **kwargs: Any) -> ServerProcess:
        server = self.create(name, **kwargs)
        return await server.start()

    async def stop_all(self) -> None:
        for server in self.started:
            await server.stop()


@pytest.fixture
async def servers(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ServerFactory]:
    """Start `python -m app` processes; all are stopped (SIGTERM, then SIGKILL) afterwards and
    their logs printed when the test failed."""
    factory = ServerFactory(tmp_path)
    try:
        yield factory
    finally:
        await factory.stop_all()
        if _failed(request.node):
            for server in factory.started:
                print(f"\n----- {server.name} log ({server.log_path}) -----")
                print(tail(server.log_path, 80))


@pytest.fixture(scope="module")
async def module_postgres_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """One PostgreSQL database for a whole module (the fuzz tests' server)."""
    async with postgres_database(request, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="module")
async def module_servers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServerFactory]:
    factory = ServerFactory(tmp_path_factory.mktemp("module-servers"))
    try:
        yield factory
    finally:
        await factory.stop_all()
