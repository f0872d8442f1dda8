"""Notification settings (SPEC §13): a webhook URL that is not http(s), or one without a
proper `whsec_` secret, refuses to start, naming the key."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.config import Settings
from tests.integration.processes import ROOT, server_env
from tests.notifications.receivers import WEBHOOK_SECRET


def make(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


@pytest.mark.parametrize(
    "url", ["ftp://hooks.example/x", "hooks.example/x", "http://", "javascript:alert(1)"]
)
def test_a_webhook_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="WEBHOOK_URL") as info:
        make(webhook_url=url, webhook_secret=WEBHOOK_SECRET)
    assert "webhook_url" in str(info.value)


@pytest.mark.parametrize("secret", ["", "plain-secret-0123456789", "whsec_***", "whsec_c2hvcnQ="])
def test_a_webhook_url_needs_a_whsec_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match="WEBHOOK_SECRET"):
        make(webhook_url="https://hooks.example/im", webhook_secret=secret)


@pytest.mark.parametrize("contact", ["admin@localhost", "http://hospital.example", "mailto:"])
def test_a_push_contact_must_be_mailto_or_https(contact: str) -> None:
    with pytest.raises(ValidationError, match="PUSH_CONTACT"):
        make(push_contact=contact)
    assert make(push_contact="https://hospital.example/contact").push_contact


def test_defaults_switch_webhooks_and_push_off() -> None:
    settings = make()
    assert settings.webhook_url == "" and not settings.push_enabled
    assert settings.webhook_max_hours == 24
    ok = make(webhook_url="https://hooks.example/im", webhook_secret=WEBHOOK_SECRET)
    assert ok.webhook_url == "https://hooks.example/im"


async def test_the_server_refuses_to_start_naming_the_key(tmp_path: Path) -> None:
    env = server_env(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'im.db'}",
        extra={"WEBHOOK_URL": "ftp://hooks.example/x", "WEBHOOK_SECRET": WEBHOOK_SECRET},
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode != 0
    assert b"WEBHOOK_URL" in output
