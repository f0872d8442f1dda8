"""The doctors' copilot requests (SPEC §15): ask for a SUMMARY or a SUGGESTION, and read the
copilot records of a group — only its DOCTOR members, a suggestion only the doctor who asked."""

from __future__ import annotations

from app.db.session import Database
from app.errors import Conflict
from app.models import AIInteractionRecord, AIKind, User
from app.repositories.ai_interaction_repository import AIInteractionRepository
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.services.ai.copilot.staging import StageCopilot
from app.services.ai.outbox import Outbox
from app.services.core.actor import Actor
from app.services.core.message_writer import MessageWriter
from app.services.core.permissions import require_group_admin
from app.services.core.rate_limit import RateLimiter

NOTHING_TO_DO = {
    AIKind.SUMMARY: ("NOTHING_TO_SUMMARISE", "The group has no message to summarise yet"),
    AIKind.SUGGESTION: ("NOTHING_TO_ANSWER", "The group has no patient message to answer yet"),
}


class CopilotService:
    def __init__(
        self,
        db: Database,
        writer: MessageWriter,
        outbox: Outbox,
        limiter: RateLimiter,
        instructions: dict[AIKind, str],
    ) -> None:
        self.db = db
        self.writer = writer
        self.outbox = outbox
        self.limiter = limiter
        self.instructions = instructions

    async def request(self, doctor: User, group_id: str, kind: AIKind) -> str:
        """Stage a copilot record and start it; its id. Raises NotFound (group),
        PermissionDenied (not one of its doctors), RateLimited (`AI_COPILOT_PER_MINUTE`),
        Conflict (nothing to summarise or answer: not counted against the limit)."""
        await self._require_doctor(doctor, group_id)
        async with self.limiter.attempt(doctor.user_id) as attempt:
            staged = await self.writer.apply(
                StageCopilot(self.outbox, group_id, kind, doctor.user_id, self.instructions[kind])
            )
            if staged is None:
                code, message = NOTHING_TO_DO[kind]
                raise Conflict(message, code=code)
            attempt.count()
        await staged.after_commit()
        return staged.record_id

    async def list_for_doctor(
        self, doctor: User, group_id: str, limit: int
    ) -> list[AIInteractionRecord]:
        """Newest first: the group's summaries and this doctor's suggestions."""
        await self._require_doctor(doctor, group_id)
        async with self.db.read() as session:
            return await AIInteractionRepository(session).get_copilot(
                group_id, doctor.user_id, limit
            )

    async def _require_doctor(self, user: User, group_id: str) -> None:
        async with self.db.read() as session:
            await require_group_admin(
                GroupRepository(session),
                GroupMemberRepository(session),
                group_id,
                Actor(user=user),
            )
