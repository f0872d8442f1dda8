"""Real processes for integration tests: `python -m app` servers, a throwaway PostgreSQL cluster
and a throwaway Redis, each on a free loopback port and stopped only through its own handle.

Nothing here touches the shared PostgreSQL/Redis services; every wait is bounded in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
SECRET_KEY = "integration-secret-key-not-for-production-0123456789"
SERVICE_KEY = "integration-service-key"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's pick on loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def coverage_env() -> dict[str, str]:
    """Make a child Python measure coverage when this process is measured (pytest --cov).

    coverage 7 installs a `.pth` hook that starts measuring in any interpreter that finds
    COVERAGE_PROCESS_CONFIG; we hand it this process's own configuration (parallel mode, an
    absolute data file), so pytest-cov combines the children's data at the end of the session.
    `sigterm` is switched on because uvicorn, after its graceful shutdown, re-raises SIGTERM
    and the process dies by the signal, before any atexit hook could save the data.
    """
    try:
        import coverage
    except ImportError:  # pragma: no cover - coverage is a dev dependency
        return {}
    current = coverage.Coverage.current()
    if current is None:
        return {}
    config = copy.copy(current.config)
    config.sigterm = True
    return {"COVERAGE_PROCESS_CONFIG": config.serialize()}


def tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return f"<{path} does not exist>"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# --------------------------------------------------------------------------------------------
# The service: `python -m app`
# --------------------------------------------------------------------------------------------


@dataclass
class ServerProcess:
    """One `python -m app` process (or, with `entry="uvicorn"`, the seed's own command
    `uvicorn app.main:app`); restartable on the same port with the same environment."""

    name: str
    env: dict[str, str]
    workdir: Path
    entry: str = "app"
    port: int = field(default_factory=free_port)
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def ws_url(self, user_id: str, token: str) -> str:
        return f"ws://{LOOPBACK}:{self.port}/ws/{user_id}?token={token}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    def is_alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def spawn(self) -> None:
        """Start the process (without waiting for it to serve)."""
        assert not self.is_alive(), f"{self.name} is already running"
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**self.env, "PORT": str(self.port), "HOST": LOOPBACK}
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start #{self.starts} on port {self.port} =====\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self._command(),
                cwd=self.workdir,  # no `.env` here: the environment below is the whole config
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _command(self) -> list[str]:
        if self.entry == "uvicorn":
            target = ("app.main:app", "--host", LOOPBACK, "--port", str(self.port))
            return [sys.executable, "-m", "uvicorn", *target]
        return [sys.executable, "-m", "app"]

    async def start(self, within: float = START_TIMEOUT) -> ServerProcess:
        self.spawn()
        await self.wait_ready(within)
        return self

    async def wait_ready(self, within: float = START_TIMEOUT) -> dict[str, Any]:
        """Poll `/health` until it answers 200; fail early if the process dies."""
        deadline = time.monotonic() + within
        last: str = "no answer"
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as http:
            while time.monotonic() < deadline:
                if not self.is_alive():
                    raise RuntimeError(
                        f"{self.name} exited with {self.popen and self.popen.returncode}:\n"
                        f"{tail(self.log_path)}"
                    )
                try:
                    response = await http.get("/health")
                    if response.status_code == 200:
                        body: dict[str, Any] = response.json()
                        return body
                    last = f"{response.status_code} {response.text}"
                except httpx.HTTPError as exc:
                    last = repr(exc)
                await asyncio.sleep(0.1)
        raise TimeoutError(
            f"{self.name} not healthy after {within}s ({last}):\n{tail(self.log_path)}"
        )

    async def restart(self, within: float = START_TIMEOUT) -> ServerProcess:
        await self.stop()
        return await self.start(within)

    def kill(self) -> None:
        """kill -9 by handle, and reap."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=STOP_TIMEOUT)

    async def stop(self, within: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM (uvicorn's graceful shutdown, which also saves coverage), then SIGKILL."""
        popen = self.popen
        if popen is None:
            return None
        if popen.poll() is None:
            popen.terminate()
            try:
                await asyncio.to_thread(popen.wait, within)
            except subprocess.TimeoutExpired:
                self.kill()
        return popen.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def server_env(
    *,
    database_url: str,
    broker_url: str = "memory://",
    redis_prefix: str = "im",
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A complete, clean environment for `python -m app` (nothing inherited but basics)."""
    env = {
        key: os.environ[key]
        for key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
        if key in os.environ
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": database_url,
            "BROKER_URL": broker_url,
            "REDIS_PREFIX": redis_prefix,
            "SECRET_KEY": SECRET_KEY,
            "SERVICE_API_KEY": SERVICE_KEY,
            "AI_ENABLED": "false",
            "RATE_LIMIT_MESSAGES_PER_MINUTE": "0",
            "DOCTOR_SIGNUP": "open",
            "DATABASE_POOL_SIZE": "10",
            "DATABASE_MAX_OVERFLOW": "10",
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "console",
        }
    )
    env.update(coverage_env())
    env.update(extra or {})
    return env


# --------------------------------------------------------------------------------------------
# A throwaway PostgreSQL cluster
# --------------------------------------------------------------------------------------------


def postgres_bindir() -> Path:
    """Where initdb/pg_ctl live: IM_TEST_PG_BINDIR, `pg_config --bindir`, or the newest
    /usr/lib/postgresql/*/bin."""
    configured = os.environ.get("IM_TEST_PG_BINDIR")
    if configured:
        return Path(configured)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not versions:
        raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) not found; set IM_TEST_PG_BINDIR")
    return versions[-1].parent


class PostgresCluster:
    """initdb + pg_ctl in a temporary directory, listening on 127.0.0.1:<free port> only.

    initdb refuses to run as root, so when we are root the cluster belongs to the `postgres`
    OS user and every command runs through `runuser -u postgres --`.
    """

    def __init__(self) -> None:
        self.bindir = postgres_bindir()
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="im-pg-"))
        self.data = self.base / "data"
        self.logfile = self.base / "postgres.log"
        self._run_as: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
            self.base.chmod(0o700)
            self._run_as = ["runuser", "-u", "postgres", "--"]
        self._initialised = False

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._run_as, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
            cwd=self.base,
        )

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self._initialised = True

    def start(self) -> None:
        if not self._initialised:
            self.init()
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses={LOOPBACK} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        try:
            self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.logfile),
                "-w",
                "-t",
                "30",
                "-o",
                options,
                "start",
            )
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"pg_ctl start failed: {exc.stderr}\n{self.log_tail()}") from exc

    def stop(self, mode: str = "fast") -> None:
        """Stop the postmaster of *this* data directory (pg_ctl targets its postmaster.pid)."""
        if not (self.data / "postmaster.pid").exists():
            return
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def is_running(self) -> bool:
        out = subprocess.run(
            [*self._run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.base,
        )
        return out.returncode == 0

    def create_database(self, name: str) -> str:
        createdb = str(self.bindir / "createdb")
        self._run(createdb, "-h", LOOPBACK, "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@{LOOPBACK}:{self.port}/{database}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return tail(self.logfile, lines)
        except PermissionError:
            return "<log unreadable>"

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# A throwaway Redis
# --------------------------------------------------------------------------------------------


class RedisServer:
    """`redis-server` on a free loopback port, no persistence; restartable on the same port."""

    def __init__(self, workdir: Path | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found on PATH")
        self.binary = binary
        self.port = free_port()
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="im-redis-"))
        self._own_workdir = workdir is None
        self.popen: subprocess.Popen[bytes] | None = None
        self.logfile = self.workdir / f"redis-{self.port}.log"

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def is_alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self, timeout: float = 15.0) -> None:
        assert not self.is_alive()
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.logfile.open("ab") as log:
            self.popen = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    LOOPBACK,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.workdir),
                    "--protected-mode",
                    "yes",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        client = redis.Redis(host=LOOPBACK, port=self.port, socket_connect_timeout=0.5)
        try:
            while time.monotonic() < deadline:
                if not self.is_alive():
                    raise RuntimeError(f"redis-server exited:\n{tail(self.logfile)}")
                with contextlib.suppress(redis.RedisError, OSError):
                    if client.ping():
                        return
                time.sleep(0.05)
        finally:
            client.close()
        raise TimeoutError(f"redis-server on {self.port} did not answer PING")

    def stop(self, *, hard: bool = False) -> None:
        """SIGTERM (or SIGKILL) by handle, and reap."""
        if self.popen is None or self.popen.poll() is not None:
            return
        if hard:
            self.popen.kill()
        else:
            self.popen.terminate()
        try:
            self.popen.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=STOP_TIMEOUT)

    def restart(self, *, hard: bool = False, down_for: float = 0.0) -> None:
        self.stop(hard=hard)
        if down_for:
            time.sleep(down_for)
        self.start()

    def destroy(self) -> None:
        self.stop(hard=True)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def delete_prefix(url: str, prefix: str, limit: int = 100_000) -> None:
    """Remove the keys a test deployment left in a (shared) Redis; bounded."""
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        for removed, key in enumerate(client.scan_iter(match=f"{prefix}:*", count=500), 1):
            client.delete(key)
            if removed >= limit:
                break
    except (redis.RedisError, OSError):
        return
    finally:
        client.close()
