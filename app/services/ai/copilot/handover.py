"""The hand-over (SPEC §15): a doctor switching a group's AI off gets a SUMMARY of the
consultation for the group's doctors, staged in the transaction that switched it off."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import RateLimited
from app.models import AIKind, UserRole
from app.repositories.group_member_repository import GroupMemberRepository
from app.services.ai.copilot.staging import stage_copilot
from app.services.ai.outbox import Outbox
from app.services.core.hooks import AfterCommit, GroupChange
from app.services.core.rate_limit import RateLimiter

logger = logging.getLogger(__name__)


class HandoverHook:
    """A `GroupHook`. Only a doctor's switch counts (the service key's is not a hand-over); a
    group without text messages has nothing to summarise, and a doctor over
    `AI_COPILOT_PER_MINUTE` (switching back and forth) gets no further summary: the switch
    itself always succeeds."""

    def __init__(self, outbox: Outbox, limiter: RateLimiter, instruction: str) -> None:
        self.outbox = outbox
        self.limiter = limiter
        self.instruction = instruction

    async def on_group_updated(
        self, session: AsyncSession, change: GroupChange
    ) -> AfterCommit | None:
        doctor_id = change.by_user_id
        if not (change.ai_enabled_before and not change.ai_enabled) or doctor_id is None:
            return None
        member = await GroupMemberRepository(session).get_member(change.group_id, doctor_id)
        if member is None or member.user_role != UserRole.DOCTOR:
            return None
        try:
            async with self.limiter.attempt(doctor_id) as attempt:
                staged = await stage_copilot(
                    session,
                    self.outbox,
                    group_id=change.group_id,
                    kind=AIKind.SUMMARY,
                    requested_by=doctor_id,
                    instruction=self.instruction,
                )
                if staged is None:
                    return None
                attempt.count()
        except RateLimited:
            logger.info("no hand-over summary for %s: over AI_COPILOT_PER_MINUTE", doctor_id)
            return None
        return staged.after_commit
