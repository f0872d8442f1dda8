"""Staging a copilot record in the outbox, anchored to the group's latest text message, in the
transaction of whatever asked for it (a doctor's request, or the hand-over's group update)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AIKind, UserRole
from app.repositories.ai_interaction_repository import AIInteractionRepository
from app.services.ai.copilot.conversation import last_text_message
from app.services.ai.outbox import Outbox
from app.services.core.hooks import AfterCommit
from app.services.core.message_writer import Change


@dataclass(frozen=True)
class Staged:
    record_id: str
    after_commit: AfterCommit


async def stage_copilot(
    session: AsyncSession,
    outbox: Outbox,
    *,
    group_id: str,
    kind: AIKind,
    requested_by: str | None,
    instruction: str,
    unless_summarised: bool = False,
) -> Staged | None:
    """None when there is nothing to work on: no text message (a SUMMARY), no patient message
    (a SUGGESTION), or with `unless_summarised`, nothing said since a SUMMARY of the group."""
    if kind == AIKind.SUGGESTION and (
        await last_text_message(session, group_id, from_role=UserRole.PATIENT) is None
    ):
        return None
    anchor = await last_text_message(session, group_id)
    if anchor is None:
        return None
    if unless_summarised and await AIInteractionRepository(session).summarised_until(
        group_id, anchor.message_id
    ):
        return None
    record_id, after_commit = outbox.stage(
        session,
        group_id=group_id,
        message_id=anchor.message_id,
        request_content=instruction,
        kind=kind,
        requested_by=requested_by,
    )
    return Staged(record_id, after_commit)


@dataclass(frozen=True)
class StageCopilot(Change[Staged | None]):
    """`stage_copilot` as a change of the writer's batches: a request never opens a write
    transaction of its own, so it never holds the write path a send needs."""

    outbox: Outbox
    group_id: str
    kind: AIKind
    requested_by: str
    instruction: str

    async def apply(self, session: AsyncSession) -> Staged | None:
        return await stage_copilot(
            session,
            self.outbox,
            group_id=self.group_id,
            kind=self.kind,
            requested_by=self.requested_by,
            instruction=self.instruction,
        )
