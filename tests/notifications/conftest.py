"""Notification fixtures: a loopback webhook receiver and push service, and settings that point
the server at them (short retry delays, so retries happen within a test)."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.notifications.receivers import WEBHOOK_SECRET, PushService, WebhookReceiver


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    stand_in = WebhookReceiver()
    await stand_in.start()
    try:
        yield stand_in
    finally:
        await stand_in.stop()


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    stand_in = PushService()
    await stand_in.start()
    try:
        yield stand_in
    finally:
        await stand_in.stop()


@pytest.fixture
def notify_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Per-test extra settings (`@pytest.mark.parametrize(..., indirect=True)`)."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def settings_overrides(
    receiver: WebhookReceiver, notify_settings: dict[str, Any]
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "webhook_url": receiver.url,
        "webhook_secret": WEBHOOK_SECRET,
        "webhook_retry_base_seconds": 0.05,
        "webhook_timeout": 2.0,
        "push_enabled": True,
    }
    values.update(notify_settings)
    return values
