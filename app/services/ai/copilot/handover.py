"""The hand-over (SPEC §15): a doctor switching a group's AI off gets a SUMMARY of the
consultation for the group's doctors, staged in the transaction that switched it off."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AIKind, UserRole
from app.repositories.group_member_repository import GroupMemberRepository
from app.services.ai.copilot.staging import stage_copilot
from app.services.ai.outbox import Outbox
from app.services.core.hooks import AfterCommit, GroupChange


class HandoverHook:
    """A `GroupHook`. Only a doctor's switch counts (the service key's is not a hand-over); a
    group without text messages has nothing to summarise, and a switch with nothing said since
    the group's last summary makes none (switching back and forth costs no AI calls). Nothing
    here leaves the database: it runs inside the switch's transaction."""

    def __init__(self, outbox: Outbox, instruction: str) -> None:
        self.outbox = outbox
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
        staged = await stage_copilot(
            session,
            self.outbox,
            group_id=change.group_id,
            kind=AIKind.SUMMARY,
            requested_by=doctor_id,
            instruction=self.instruction,
            unless_summarised=True,
        )
        return staged.after_commit if staged is not None else None
