"""`AI_WORKER=celery`: a real Celery worker process stages the webhook rows of what it does (the
AI's reply, `ai.failed`) in its own transactions, and the server's deliverer sends them, each
once."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from tests.ai.standin import StandInAI
from tests.databases import REDIS_URL, ROOT
from tests.factories import consultation, send_ok
from tests.notifications.receivers import WEBHOOK_SECRET, WebhookReceiver

REDIS = REDIS_URL or "redis://127.0.0.1:6379/0"


@pytest.fixture
async def ai_stub() -> AsyncIterator[StandInAI]:
    stub = StandInAI()
    await stub.start()
    try:
        yield stub
    finally:
        await stub.stop()


@pytest.fixture
def settings_overrides(receiver: WebhookReceiver, ai_stub: StandInAI) -> dict[str, Any]:
    return {
        "webhook_url": receiver.url,
        "webhook_secret": WEBHOOK_SECRET,
        "webhook_retry_base_seconds": 0.05,
        "ai_enabled": True,
        "ai_worker": "celery",
        "broker_url": REDIS,
        "celery_queue": f"im-notify-test-{secrets.token_hex(4)}",
        "ai_provider": "http",
        "ai_service_url": ai_stub.chat_url,
        "ai_max_retries": 0,
        "ai_service_timeout": 2.0,
    }


@pytest.fixture
def celery_worker(settings: Settings, tmp_path: Path) -> Iterator[Path]:
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
            "AI_PROVIDER": "http",
            "AI_SERVICE_URL": settings.ai_service_url,
            "AI_MAX_RETRIES": "0",
            "AI_SERVICE_TIMEOUT": "2",
            "WEBHOOK_URL": settings.webhook_url,
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "LOG_LEVEL": "INFO",
        }
    )
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "app.tasks.celery_app",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                "4",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield log_path
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=5)


async def test_the_workers_reply_and_failure_are_delivered_once(
    client: httpx.AsyncClient,
    receiver: WebhookReceiver,
    ai_stub: StandInAI,
    celery_worker: Path,
) -> None:
    ai_stub.default.reply = "Drink water and rest"
    room = await consultation(client)
    await send_ok(client, room.patient, room.group_id, "I feel dizzy")
    try:
        created = await receiver.wait_for(2, "message.created", within=40)
    except TimeoutError:
        log = await asyncio.to_thread(celery_worker.read_text)
        pytest.fail(f"no AI reply webhook; worker log:\n{log[-3000:]}")
    reply = created[1]["data"]["message"]
    assert (reply["from_user_role"], reply["msg_content"]) == (
        "AI_ASSISTANT",
        "Drink water and rest",
    )

    ai_stub.then("status", status=500)
    await send_ok(client, room.patient, room.group_id, "And now?")
    [failed] = await receiver.wait_for(1, "ai.failed", within=40)
    assert failed["data"]["group_id"] == room.group_id
    assert failed["data"]["error_message"]
    ids = Counter(d.webhook_id for d in receiver.deliveries if d.answered == 200)
    assert set(ids.values()) == {1}
