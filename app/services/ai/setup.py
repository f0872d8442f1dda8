"""Start-up wiring of the AI layer: the assistant user, the routing hook, the worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.dependencies import Container


class AILayer:
    """The running AI layer, as the container keeps it."""

    def __init__(self, assistant_user_id: str) -> None:
        self.assistant_user_id = assistant_user_id

    async def stop(self) -> None:
        return None


async def install_ai_layer(container: Container) -> AILayer:
    """Create the AI assistant user and make new groups include it."""
    settings = container.settings
    assistant = await container.users.ensure_ai_assistant(settings.ai_assistant_name)
    container.groups.assistant_user_id = assistant.user_id
    return AILayer(assistant.user_id)
