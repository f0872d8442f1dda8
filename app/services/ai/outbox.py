"""The transactional outbox: a routed message and its PENDING AI record commit together.

`AIOutboxHook` is the hook the core's message service calls inside every send transaction;
after the commit it hands the record to the dispatcher. A crash between the two leaves a
PENDING record, which the sweeper (`AIInteractionService.resume_unfinished`) picks up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Message
from app.repositories.ai_interaction_repository import AIInteractionRepository
from app.services.ai.message_router_service import routes_to_ai
from app.utils.id_generator import generate_record_id

Dispatch = Callable[[str], Awaitable[None]]


class AIOutboxHook:
    def __init__(self, service_url: str, dispatch: Dispatch) -> None:
        self.service_url = service_url
        self.dispatch = dispatch

    async def on_stored(
        self, session: AsyncSession, message: Message, *, ai_enabled: bool
    ) -> Callable[[], Awaitable[None]] | None:
        if not routes_to_ai(
            ai_layer_enabled=True,
            group_ai_enabled=ai_enabled,
            sender_group_role=message.from_user_role,
            msg_type=message.msg_type,
        ):
            return None
        record_id = generate_record_id()
        AIInteractionRepository(session).stage(
            record_id,
            message.group_id,
            message.message_id,
            self.service_url,
            request_content=message.msg_content,
        )

        async def dispatch_after_commit() -> None:
            await self.dispatch(record_id)

        return dispatch_after_commit
