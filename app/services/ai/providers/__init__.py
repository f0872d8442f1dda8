"""AI providers behind one interface (`AIProvider.complete(prompt, on_delta) -> reply`), one
module each: `http` (the seed's contract), `openai_chat` (openai, deepseek), `anthropic_messages`,
`mock`. `create_provider` picks one from the settings; the SDK modules load only when chosen.
"""

from __future__ import annotations

import httpx

from app.config import Settings
from app.services.ai.providers.base import (
    AIError,
    AIProvider,
    DeltaCallback,
    PermanentAIError,
    Prompt,
    PromptImage,
    RetryableAIError,
    Turn,
)
from app.services.ai.providers.http import HttpProvider, body_cap
from app.services.ai.providers.mock import MOCK_URL, MockProvider

__all__ = [
    "MOCK_URL",
    "AIError",
    "AIProvider",
    "DeltaCallback",
    "HttpProvider",
    "MockProvider",
    "PermanentAIError",
    "Prompt",
    "PromptImage",
    "RetryableAIError",
    "Turn",
    "create_provider",
]


def create_provider(settings: Settings, http_client: httpx.AsyncClient) -> AIProvider:
    """The provider `AI_PROVIDER` names. `http_client` (shared, owned by the caller) serves the
    `http` provider; the SDK providers each create their own client once, closed by `aclose()`."""
    key = settings.ai_service_api_key.get_secret_value()
    if settings.ai_provider == "http":
        return HttpProvider(
            http_client,
            url=settings.ai_service_url,
            api_key=key,
            max_body_bytes=body_cap(settings.ai_max_reply_chars),
        )
    if settings.ai_provider in ("openai", "deepseek"):
        from app.services.ai.providers.openai_chat import OpenAIChatProvider

        return OpenAIChatProvider(
            name=settings.ai_provider,
            base_url=settings.ai_service_url,
            api_key=key,
            model=settings.ai_model,
            temperature=settings.ai_temperature,
            max_tokens=settings.ai_max_tokens,
            max_reply_chars=settings.ai_max_reply_chars,
            timeout=settings.ai_service_timeout,
            vision=settings.ai_vision,
        )
    if settings.ai_provider == "anthropic":
        from app.services.ai.providers.anthropic_messages import AnthropicProvider

        return AnthropicProvider(
            base_url=settings.ai_service_url,
            api_key=key,
            model=settings.ai_model,
            max_tokens=settings.ai_max_tokens,
            max_reply_chars=settings.ai_max_reply_chars,
            timeout=settings.ai_service_timeout,
            vision=settings.ai_vision,
        )
    return MockProvider()
