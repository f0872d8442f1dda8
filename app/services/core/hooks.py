"""How a layer beside the core (the AI today; notifications and the copilot next) reacts to what
the core stores, without the core importing it.

The core calls each registered hook inside the transaction that stored the change, so a hook may
write rows there (an outbox that commits with the change), and runs the work the hook returns
only after the commit. Layers register at start-up (app/bootstrap.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Message

AfterCommit = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class StoredMessage:
    """A message just appended, with the facts of its group read in the same transaction."""

    message: Message
    group_ai_enabled: bool

    @property
    def mentions(self) -> tuple[str, ...]:
        """The users the message mentions (none for most)."""
        return tuple(self.message.mentions or ())


class MessageHook(Protocol):
    async def on_message_stored(
        self, session: AsyncSession, stored: StoredMessage
    ) -> AfterCommit | None:
        """Runs inside the transaction; may write rows and return after-commit work."""


class Hooks:
    def __init__(self) -> None:
        self._message_hooks: list[MessageHook] = []

    def add_message_hook(self, hook: MessageHook) -> None:
        self._message_hooks.append(hook)

    async def message_stored(
        self, session: AsyncSession, stored: StoredMessage
    ) -> list[AfterCommit]:
        work = [await hook.on_message_stored(session, stored) for hook in self._message_hooks]
        return [item for item in work if item is not None]
