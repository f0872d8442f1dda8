"""AI-layer fixtures: the stand-in AI server and settings that point the service at it."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.ai.standin import StandInAI

AI_KEY = "stand-in-secret"


@pytest.fixture
async def ai_stub() -> AsyncIterator[StandInAI]:
    stub = StandInAI()
    await stub.start()
    try:
        yield stub
    finally:
        await stub.stop()


@pytest.fixture
def ai_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Per-test extra AI settings (`@pytest.mark.parametrize(..., indirect=True)`)."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def settings_overrides(ai_stub: StandInAI, ai_settings: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "ai_enabled": True,
        "ai_provider": "http",
        "ai_service_url": ai_stub.chat_url,
        "ai_service_api_key": AI_KEY,
        "ai_service_timeout": 2.0,
        "ai_retry_backoff": 0.01,
    }
    values.update(ai_settings)
    if "ai_service_url" not in ai_settings:
        values["ai_service_url"] = ai_stub.url_for(values["ai_provider"])
    return values
