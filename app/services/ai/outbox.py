"""The transactional outbox: a routed message and its AI record commit together.

`AIOutboxHook` is the hook the core's writer calls inside every append transaction. With an
in-process worker the record is staged already claimed (PROCESSING, with a claim token and a
lease): after the commit the worker starts on it at once, with the message in hand, without a
claim of its own. Otherwise (Celery) it is staged PENDING and its id is dispatched; the worker
claims it. A crash between commit and dispatch leaves a record that falls due (PENDING after
`DISPATCH_GRACE`, PROCESSING when its lease lapses), and the sweeper sends it again.

`Outbox.stage` is that one staging path; the copilot (SPEC §15) stages its SUMMARY and
SUGGESTION records through it too.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.models import AIKind
from app.repositories.ai_interaction_repository import AIInteractionRepository
from app.services.ai.routing import routes_to_ai
from app.services.core.hooks import AfterCommit, StoredMessage
from app.utils.id_generator import generate_record_id
from app.utils.urls import redact_url

DISPATCH_GRACE = timedelta(seconds=30)
"""How long a PENDING record may wait to be claimed before the sweeper sends it again."""


@dataclass(frozen=True)
class ClaimedMessage:
    """A record claimed (at staging, or by a worker), and the message it answers."""

    record_id: str
    token: str
    message_id: str
    kind: AIKind = AIKind.REPLY


Dispatch = Callable[[str], Awaitable[None]]
Start = Callable[[ClaimedMessage], Awaitable[None]]


class Outbox:
    def __init__(
        self, service_url: str, dispatch: Dispatch, *, start: Start | None, lease: timedelta
    ) -> None:
        """`start`: an in-process worker that takes records claimed at staging; None when the
        worker is elsewhere (Celery) and claims records itself."""
        self.service_url = redact_url(service_url)
        self.dispatch = dispatch
        self.start = start
        self.lease = lease

    def stage(
        self,
        session: AsyncSession,
        *,
        group_id: str,
        message_id: str,
        request_content: str,
        kind: AIKind = AIKind.REPLY,
        requested_by: str | None = None,
    ) -> tuple[str, AfterCommit]:
        """Add a record to the caller's transaction; returns its id and the work to run once
        that transaction committed (start it here, or dispatch it to a worker)."""
        record_id = generate_record_id()
        start = self.start
        token = secrets.token_hex(16) if start is not None else None
        AIInteractionRepository(session).stage(
            record_id,
            group_id,
            message_id,
            self.service_url,
            request_content,
            due_at=utcnow() + (self.lease if token is not None else DISPATCH_GRACE),
            claim_token=token,
            kind=kind,
            requested_by=requested_by,
        )
        if start is None or token is None:

            async def dispatch_after_commit() -> None:
                await self.dispatch(record_id)

            return record_id, dispatch_after_commit
        claimed = ClaimedMessage(record_id, token, message_id, kind)

        async def start_after_commit() -> None:
            await start(claimed)

        return record_id, start_after_commit


class AIOutboxHook:
    """Stages a REPLY record for every message routed to the AI."""

    def __init__(self, outbox: Outbox, assistant_user_id: str) -> None:
        self.outbox = outbox
        self.assistant_user_id = assistant_user_id

    async def on_message_stored(
        self, session: AsyncSession, stored: StoredMessage
    ) -> AfterCommit | None:
        message = stored.message
        if not routes_to_ai(
            group_ai_enabled=stored.group_ai_enabled,
            sender_group_role=message.from_user_role,
            msg_type=message.msg_type,
            mentions_assistant=self.assistant_user_id in stored.mentions,
        ):
            return None
        _, after_commit = self.outbox.stage(
            session,
            group_id=message.group_id,
            message_id=message.message_id,
            request_content=message.msg_content,
        )
        return after_commit
