"""How a layer beside the core (the AI today; notifications and the copilot next) reacts to what
the core stores, without the core importing it.

The core calls each registered hook inside the transaction that stored the change, so a hook may
write rows there (an outbox that commits with the change), and runs the work the hook returns
only after the commit. Layers register at start-up (app/bootstrap.py). Two kinds of change:
a message appended to a group's log (which for a join or leave carries the membership change
too), and a group's settings updated (a doctor switching the AI off is the hand-over).

A layer may also present what the core stores: the attachments layer turns a message's stored
attachment metadata into what a client gets (signed, short-lived URLs), per response and after
every read, so nothing signed is ever stored or cached.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Message

logger = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[None]]
AttachmentLinks = Callable[[dict[str, Any]], dict[str, Any]]
"""A message's stored attachment metadata → the `attachment` object clients get (a new dict)."""


@dataclass(frozen=True)
class MembershipChange:
    """Who joined or left: the SYSTEM message of a join or leave carries it."""

    group_id: str
    user_id: str
    user_role: str
    joined: bool


@dataclass(frozen=True)
class StoredMessage:
    """A message just appended, with the facts of its group read in the same transaction."""

    message: Message
    group_ai_enabled: bool
    membership: MembershipChange | None = None

    @property
    def mentions(self) -> tuple[str, ...]:
        """The users the message mentions (none for most)."""
        return tuple(self.message.mentions or ())


class MessageHook(Protocol):
    async def on_message_stored(
        self, session: AsyncSession, stored: StoredMessage
    ) -> AfterCommit | None:
        """Runs inside the transaction; may write rows and return after-commit work."""


@dataclass(frozen=True)
class GroupChange:
    """A group's settings changed by `by_user_id` (None: the service key)."""

    group_id: str
    by_user_id: str | None
    changed: frozenset[str]
    """The fields whose value changed."""
    ai_enabled_before: bool
    ai_enabled: bool


class GroupHook(Protocol):
    async def on_group_updated(
        self, session: AsyncSession, change: GroupChange
    ) -> AfterCommit | None:
        """Runs inside the transaction; may write rows and return after-commit work."""


class Hooks:
    def __init__(self) -> None:
        self._message_hooks: list[MessageHook] = []
        self._group_hooks: list[GroupHook] = []
        self._attachment_links: AttachmentLinks | None = None

    def set_attachment_links(self, links: AttachmentLinks) -> None:
        self._attachment_links = links

    def present(self, row: dict[str, Any]) -> dict[str, Any]:
        """A message row as clients get it: its attachment with links (a copy when changed;
        the row itself, which may be cached, is never touched)."""
        attachment = row.get("attachment")
        if attachment is None or self._attachment_links is None:
            return row
        return {**row, "attachment": self._attachment_links(attachment)}

    def add_message_hook(self, hook: MessageHook) -> None:
        self._message_hooks.append(hook)

    def add_group_hook(self, hook: GroupHook) -> None:
        self._group_hooks.append(hook)

    async def message_stored(
        self, session: AsyncSession, stored: StoredMessage
    ) -> list[AfterCommit]:
        work = [await hook.on_message_stored(session, stored) for hook in self._message_hooks]
        return [item for item in work if item is not None]

    async def group_updated(self, session: AsyncSession, change: GroupChange) -> list[AfterCommit]:
        work = [await hook.on_group_updated(session, change) for hook in self._group_hooks]
        return [item for item in work if item is not None]


async def run_after_commit(work: list[AfterCommit]) -> None:
    """Run the hooks' after-commit work; one failing never stops the others (logged)."""
    for item in work:
        try:
            await item()
        except Exception:
            logger.exception("after-commit work of a hook failed")
