"""The transactional outbox: a routed message and its PENDING AI record commit together.

`AIOutboxHook` is the hook the core's writer calls inside every append transaction; after the
commit it hands the record to the dispatcher. A crash between the two leaves a PENDING record
that falls due after `DISPATCH_GRACE`, and the sweeper dispatches it then.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.repositories.ai_interaction_repository import AIInteractionRepository
from app.services.ai.routing import routes_to_ai
from app.services.core.hooks import AfterCommit, StoredMessage
from app.utils.id_generator import generate_record_id
from app.utils.urls import redact_url

Dispatch = Callable[[str], Awaitable[None]]
DISPATCH_GRACE = timedelta(seconds=30)
"""How long a PENDING record may wait to be claimed before the sweeper sends it again."""


class AIOutboxHook:
    def __init__(self, service_url: str, dispatch: Dispatch, assistant_user_id: str) -> None:
        self.service_url = redact_url(service_url)
        self.dispatch = dispatch
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
        record_id = generate_record_id()
        AIInteractionRepository(session).stage(
            record_id,
            message.group_id,
            message.message_id,
            self.service_url,
            request_content=message.msg_content,
            due_at=utcnow() + DISPATCH_GRACE,
        )

        async def dispatch_after_commit() -> None:
            await self.dispatch(record_id)

        return dispatch_after_commit
