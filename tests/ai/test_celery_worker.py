"""`AI_WORKER=celery` end to end: a real Celery worker process and Redis do the AI work, and
the reply reaches a WebSocket client of the server through the Redis broker."""

import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from app.config import Settings
from tests.ai.helpers import wait_final
from tests.ai.standin import StandInAI
from tests.conftest import LiveServer
from tests.databases import REDIS_URL, ROOT
from tests.factories import consultation, send

REDIS = REDIS_URL or "redis://127.0.0.1:6379/0"
QUEUE = f"im-ai-test-{secrets.token_hex(4)}"


@pytest.fixture
def ai_settings() -> dict[str, Any]:
    return {
        "ai_worker": "celery",
        "broker_url": REDIS,
        "celery_queue": QUEUE,
        "ai_provider": "http",
    }


def _worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AI_", "DATABASE_"))}
    env.update(
        {
            "DATABASE_URL": settings.database_url,
            "BROKER_URL": settings.broker_url,
            "REDIS_PREFIX": settings.redis_prefix,
            "CELERY_QUEUE": settings.celery_queue,
            "SECRET_KEY": "unused-by-celery-workers",
            "AI_ENABLED": "true",
            "AI_WORKER": "celery",
            "AI_PROVIDER": settings.ai_provider,
            "AI_SERVICE_URL": settings.ai_service_url,
            "AI_SERVICE_API_KEY": settings.ai_service_api_key.get_secret_value(),
            "AI_SERVICE_TIMEOUT": str(settings.ai_service_timeout),
            "AI_RETRY_BACKOFF": str(settings.ai_retry_backoff),
            "LOG_LEVEL": "INFO",
        }
    )
    return env


def _worker_command(concurrency: int) -> list[str]:
    return [
        *(sys.executable, "-m", "celery", "-A", "app.tasks.celery_app", "worker"),
        *("--pool", "threads", "--concurrency", str(concurrency), "--loglevel", "INFO"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]


@pytest.fixture
def celery_worker(settings: Settings, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        _worker_command(concurrency=8),
        cwd=ROOT,
        env=_worker_env(settings),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=5)
        log.close()


async def test_celery_worker_replies_reach_websocket_clients_through_redis(
    live_server: LiveServer,
    live_client: httpx.AsyncClient,
    ai_stub: StandInAI,
    celery_worker: subprocess.Popen[bytes],
    tmp_path: Path,
) -> None:
    ai_stub.default.reply = "Answer from a Celery worker"
    chat = await consultation(live_client)
    url = live_server.ws_url(chat.doctor.user_id, chat.doctor.token)
    async with websockets.connect(url) as doctor:
        assert json.loads(await doctor.recv())["type"] == "connected"
        await send(live_client, chat.patient, chat.group_id, "Is this serious?")
        seen: list[dict[str, Any]] = []
        try:
            async with asyncio.timeout(30):
                while not (seen and seen[-1].get("status") == "SUCCESS"):
                    seen.append(json.loads(await doctor.recv()))
        except TimeoutError:
            worker_log = (tmp_path / "worker.log").read_text()[-3000:]
            pytest.fail(f"no AI reply through Celery; worker log:\n{worker_log}")
    replies = [e["message"] for e in seen if e["type"] == "message"]
    assert replies[-1]["from_user_role"] == "AI_ASSISTANT"
    assert replies[-1]["msg_content"] == "Answer from a Celery worker"
    [record] = await wait_final(live_client, chat.group_id)
    assert record["status"] == "SUCCESS"
    assert celery_worker.poll() is None, "the worker is still alive"


async def test_celery_worker_runs_the_copilot_for_the_doctors_socket(
    live_server: LiveServer,
    live_client: httpx.AsyncClient,
    ai_stub: StandInAI,
    celery_worker: subprocess.Popen[bytes],
    tmp_path: Path,
) -> None:
    """A hand-over summary staged PENDING by the server is claimed and run by the Celery
    worker; its events reach the doctor's socket through Redis."""
    ai_stub.default.reply = "Summary from a Celery worker"
    chat = await consultation(live_client)
    await send(live_client, chat.patient, chat.group_id, "My back hurts")
    await wait_final(live_client, chat.group_id)
    url = live_server.ws_url(chat.doctor.user_id, chat.doctor.token)
    async with websockets.connect(url) as doctor:
        assert json.loads(await doctor.recv())["type"] == "connected"
        off = await live_client.patch(
            f"/api/group/{chat.group_id}", json={"ai_enabled": False}, headers=chat.doctor.headers
        )
        assert off.status_code == 200
        try:
            async with asyncio.timeout(30):
                while (event := json.loads(await doctor.recv()))["type"] != "ai_copilot":
                    pass
        except TimeoutError:
            worker_log = (tmp_path / "worker.log").read_text()[-3000:]
            pytest.fail(f"no copilot event through Celery; worker log:\n{worker_log}")
    assert (event["kind"], event["status"], event["content"]) == (
        "SUMMARY",
        "SUCCESS",
        "Summary from a Celery worker",
    )
    assert [r.body.get("kind") for r in ai_stub.received] == [None, "SUMMARY"]


def test_a_worker_with_invalid_settings_exits_instead_of_starting_with_defaults(
    tmp_path: Path,
) -> None:
    """Celery swallows a configure handler's exception; the worker then ran with Celery's
    defaults (another queue, no database) and never answered a record, without a word."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AI_", "DATABASE_"))}
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/im.db",
        BROKER_URL=REDIS,
        CELERY_QUEUE=QUEUE,
        AI_WORKER="celeri",
    )
    worker = subprocess.run(
        _worker_command(concurrency=1),
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert worker.returncode != 0
    assert b"ai_worker" in worker.stderr + worker.stdout
