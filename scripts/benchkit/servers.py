"""Start and stop the servers under test: a fresh database, N `python -m app` processes, and
a zero-latency stand-in AI service. Only processes and databases started here are removed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").is_dir() else sys.executable
ALEMBIC = str(Path(PYTHON).parent / "alembic")
PG_ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1"]
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
MYSQL_ADMIN = ["mysql", "--protocol=tcp", "-h", "127.0.0.1", "-P", "3306", "-u", "root"]
MYSQL_URL = "mysql+asyncmy://root@127.0.0.1:3306/{name}"
REDIS_URL = "redis://127.0.0.1:6379/0"
SERVER_FD_LIMIT = 20_000
AI_WORKER_THREADS = 300
"""Celery pool threads per AI worker: more than the replies in flight at 300 msgs/s for 1 s each."""
WORKER_READY_SECONDS = 60.0
BENCH_ROOT = Path(tempfile.gettempdir()) / "bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def raise_fd_limit(wanted: int = SERVER_FD_LIMIT) -> int:
    """Raise this process's soft RLIMIT_NOFILE towards `wanted` (bounded by the hard limit)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class ServerSet:
    """One deployment under test: database + `procs` server processes (Redis when procs > 1)."""

    db: str = "sqlite"
    procs: int = 1
    env_overrides: dict[str, str] = field(default_factory=dict)
    redis: bool = False
    """Fan out through Redis even with one process (to compare 1 with N on equal terms)."""
    ai_workers: int = 0
    """Celery AI worker processes (`AI_WORKER=celery`, fan-out through Redis); 0: in-process."""
    root: Path = ROOT
    """The checkout whose `app` is served (`--app-root`: an older commit, for an A/B)."""
    run_id: str = field(default_factory=lambda: f"{os.getpid()}_{secrets.token_hex(3)}")
    ports: list[int] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    database_url: str = ""
    workdir: Path = BENCH_ROOT
    window_hooks: list[Callable[[str, float], None]] = field(default_factory=list)

    def window_started(self, label: str, seconds: float) -> None:
        """Tell observers (the profiler) that a measured window of `seconds` begins now."""
        for hook in self.window_hooks:
            hook(label, seconds)

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    @property
    def worker_pids(self) -> list[int]:
        return [process.pid for process in self.workers]

    @property
    def redis_prefix(self) -> str:
        return f"bench{self.run_id}"

    def describe(self) -> dict[str, object]:
        shape: dict[str, object] = {"db": self.db, "procs": self.procs}
        if self.ai_workers:
            shape["ai_workers"] = self.ai_workers
        return {**shape, "broker": self._broker_url()}

    def _broker_url(self) -> str:
        return REDIS_URL if self.procs > 1 or self.redis or self.ai_workers else "memory://"

    def _prepare_database(self) -> None:
        self.workdir = BENCH_ROOT / self.run_id
        self.workdir.mkdir(parents=True, exist_ok=True)
        name = f"im_bench_{self.run_id}"
        if self.db == "sqlite":
            self.database_url = f"sqlite+aiosqlite:///{self.workdir}/im.db"
        elif self.db == "mysql":
            create = f"CREATE DATABASE {name} CHARACTER SET utf8mb4"
            subprocess.run([*MYSQL_ADMIN, "-e", create], check=True, timeout=30)
            self.database_url = MYSQL_URL.format(name=name)
        else:
            subprocess.run([*PG_ADMIN, "-c", f"create database {name}"], check=True, timeout=30)
            self.database_url = PG_URL.format(name=name)
        env = {**os.environ, "DATABASE_URL": self.database_url}
        subprocess.run(
            [ALEMBIC, "upgrade", "head"],
            cwd=self.root,
            env=env,
            check=True,
            timeout=120,
            stdout=subprocess.DEVNULL,
        )

    def server_env(self, port: int) -> dict[str, str]:
        env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "DATABASE_URL": self.database_url,
            "BROKER_URL": self._broker_url(),
            "REDIS_PREFIX": self.redis_prefix,
            "SECRET_KEY": f"bench-{self.run_id}-not-a-secret",
            "RATE_LIMIT_MESSAGES_PER_MINUTE": "0",
            "DOCTOR_SIGNUP": "open",
            "AI_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
        }
        if self.ai_workers:
            env.update(AI_WORKER="celery", CELERY_QUEUE=f"im-ai-{self.redis_prefix}")
        env.update(self.env_overrides)
        return env

    def worker_env(self) -> dict[str, str]:
        """A server's settings without a listening address (a worker serves no HTTP)."""
        env = self.server_env(port=1)
        del env["HOST"], env["PORT"]
        return env

    def _spawn(
        self, command: list[str], log_name: str, env: dict[str, str]
    ) -> subprocess.Popen[bytes]:
        """Start `command` in its own session, output to a log file of the workdir (the child
        holds its own copy of the file; ours closes here)."""
        with open(self.workdir / log_name, "wb") as log:
            return subprocess.Popen(
                command,
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _launch(self) -> None:
        for index in range(self.procs):
            port = free_port()
            # `ulimit -n` so that one process can hold 10,000+ sockets.
            command = f"ulimit -n {SERVER_FD_LIMIT} 2>/dev/null; exec {PYTHON} -m app"
            self.processes.append(
                self._spawn(["bash", "-c", command], f"server{index}.log", self.server_env(port))
            )
            self.ports.append(port)
        for index in range(self.ai_workers):
            worker = [
                PYTHON,
                *("-m", "celery", "-A", "app.tasks.celery_app", "worker", "--pool", "threads"),
                *("--concurrency", str(AI_WORKER_THREADS), "--loglevel", "INFO"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
                *("--hostname", f"bench{index}-{self.run_id}@%h"),
            ]
            self.workers.append(self._spawn(worker, f"worker{index}.log", self.worker_env()))

    async def start(self) -> None:
        await asyncio.to_thread(self._prepare_database)
        self._launch()
        try:
            await asyncio.gather(
                *(self._wait_healthy(url) for url in self.urls),
                *(self._wait_worker_ready(index) for index in range(self.ai_workers)),
            )
        except BaseException:
            await self.stop()
            raise

    async def _wait_worker_ready(self, index: int) -> None:
        """Until Celery logs the worker ready (it consumes its queue from then on)."""
        log = self.workdir / f"worker{index}.log"
        deadline = time.monotonic() + WORKER_READY_SECONDS
        while time.monotonic() < deadline:
            if self.workers[index].poll() is not None:
                raise RuntimeError(f"AI worker exited; see {log}")
            if b" ready." in log.read_bytes():
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"AI worker not ready within {WORKER_READY_SECONDS}s; see {log}")

    async def _wait_healthy(self, url: str, wait_s: float = 60.0) -> None:
        deadline = time.monotonic() + wait_s
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                for process in self.processes:
                    if process.poll() is not None:
                        raise RuntimeError(
                            f"server exited ({process.returncode}); see {self.workdir}"
                        )
                with contextlib.suppress(httpx.HTTPError):
                    response = await client.get(f"{url}/health")
                    if response.status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{url}/health not ok within {wait_s}s")

    async def stop(self) -> None:
        """Stop our processes (by PID), drop our database and Redis keys, remove our files."""
        for process in (*self.processes, *self.workers):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (*self.processes, *self.workers):
            try:
                await asyncio.to_thread(process.wait, 15)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait, 5)
        self.processes.clear()
        self.workers.clear()
        self.ports.clear()
        if self.db != "sqlite" and self.database_url:
            await asyncio.to_thread(self._drop_database)
        if self._broker_url() == REDIS_URL:
            await self._drop_redis_keys()
        if os.environ.get("BENCH_KEEP_LOGS") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _drop_database(self) -> None:
        name = self.database_url.rsplit("/", 1)[1].split("?", 1)[0]
        if self.db == "mysql":
            command = [*MYSQL_ADMIN, "-e", f"DROP DATABASE IF EXISTS {name}"]
        else:
            command = [*PG_ADMIN, "-c", f"drop database if exists {name} with (force)"]
        subprocess.run(command, check=False, timeout=30)

    async def _drop_redis_keys(self) -> None:
        from redis.asyncio import Redis

        redis = Redis.from_url(REDIS_URL)
        try:
            keys = [key async for key in redis.scan_iter(match=f"{self.redis_prefix}:*")]
            if keys:
                await redis.delete(*keys)
        finally:
            await redis.aclose()


async def read_request(reader: asyncio.StreamReader) -> None:
    """Read one HTTP/1.1 request (head and Content-Length body) and drop it."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)


class StandInAI:
    """A zero-latency AI service on 127.0.0.1: any POST gets `{"reply":"ok"}` (keep-alive)."""

    BODY = b'{"reply":"ok"}'

    def __init__(self) -> None:
        self.port = 0
        self.calls = 0
        self._server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/chat"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await read_request(reader)
                self.calls += 1
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(self.BODY), self.BODY)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
