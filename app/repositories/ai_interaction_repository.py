"""Queries on `ai_interaction_records`. Every state transition is one conditional UPDATE that
names the state (and claim token) it expects and reports whether it applied, so a late worker
can never overwrite what another worker already finished."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.models import AIInteractionRecord, AIKind, AIStatus

MAX_BACKOFF_STEPS = 8
"""Re-dispatch back-off doubles up to 2**8 times the grace, then stays there."""


class AIInteractionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def stage(
        self,
        record_id: str,
        group_id: str,
        user_message_id: str,
        ai_service_url: str,
        request_content: str,
        due_at: datetime,
        claim_token: str | None = None,
        kind: AIKind = AIKind.REPLY,
        requested_by: str | None = None,
    ) -> AIInteractionRecord:
        """Add a record to the transaction without a round trip (written at flush): PENDING, or
        already PROCESSING under `claim_token` until `due_at` (claimed by the staging process)."""
        record = AIInteractionRecord(
            kind=kind,
            requested_by=requested_by,
            record_id=record_id,
            group_id=group_id,
            user_message_id=user_message_id,
            ai_service_url=ai_service_url,
            request_content=request_content,
            status=AIStatus.PENDING if claim_token is None else AIStatus.PROCESSING,
            claim_token=claim_token,
            attempts=0,
            dispatches=0,
            due_at=due_at,
        )
        self.session.add(record)
        return record

    async def message_to_answer(self, record_id: str) -> tuple[str, AIKind] | None:
        """The id of the message a record answers (a copilot record: the last message it
        covers) and the record's kind."""
        result = await self.session.execute(
            select(AIInteractionRecord.user_message_id, AIInteractionRecord.kind).where(
                AIInteractionRecord.record_id == record_id
            )
        )
        row = result.one_or_none()
        return None if row is None else (row[0], AIKind(row[1]))

    async def claim(self, record_id: str, token: str, lease_until: datetime) -> bool:
        """PENDING → PROCESSING under `token` until `lease_until`. One UPDATE decides, so of
        two workers racing for a record exactly one wins."""
        return await self._transition(
            record_id,
            expected=AIStatus.PENDING,
            token=None,
            status=AIStatus.PROCESSING,
            claim_token=token,
            due_at=lease_until,
        )

    async def complete(
        self,
        record_id: str,
        token: str,
        *,
        ai_message_id: str | None,
        response_content: str,
        request_content: str,
        duration_ms: int,
        attempts: int,
    ) -> bool:
        """PROCESSING (under `token`) → SUCCESS; False if the claim was lost meanwhile. A copilot
        record has no `ai_message_id`: its text is only `response_content`."""
        return await self._transition(
            record_id,
            expected=AIStatus.PROCESSING,
            token=token,
            status=AIStatus.SUCCESS,
            ai_message_id=ai_message_id,
            response_content=response_content,
            request_content=request_content,
            duration_ms=duration_ms,
            attempts=attempts,
            error_message=None,
            due_at=None,
        )

    async def fail(
        self,
        record_id: str,
        token: str,
        *,
        error_message: str,
        request_content: str,
        duration_ms: int,
        attempts: int,
    ) -> bool:
        """PROCESSING (under `token`) → FAILED; False if the claim was lost meanwhile."""
        return await self._transition(
            record_id,
            expected=AIStatus.PROCESSING,
            token=token,
            status=AIStatus.FAILED,
            error_message=error_message[:2000],
            request_content=request_content,
            duration_ms=duration_ms,
            attempts=attempts,
            due_at=None,
        )

    async def skip(self, record_id: str, token: str, *, reason: str) -> bool:
        """PROCESSING (under `token`) → SKIPPED: there is nothing left to answer."""
        return await self._transition(
            record_id,
            expected=AIStatus.PROCESSING,
            token=token,
            status=AIStatus.SKIPPED,
            error_message=reason,
            due_at=None,
        )

    async def _transition(
        self, record_id: str, *, expected: AIStatus, token: str | None, **values: object
    ) -> bool:
        conditions = [
            AIInteractionRecord.record_id == record_id,
            AIInteractionRecord.status == expected,
        ]
        if token is not None:
            conditions.append(AIInteractionRecord.claim_token == token)
        result = await self.session.execute(
            update(AIInteractionRecord)
            .where(*conditions)
            .values(updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def requeue_due(self, now: datetime, grace: timedelta, limit: int = 200) -> list[str]:
        """Reset to PENDING and return the unfinished records that are due: PENDING ones whose
        dispatch may have been lost, PROCESSING ones whose lease lapsed. Each gets a new due
        time, `grace` doubled per earlier re-dispatch, so a record that merely waits long in a
        worker queue is sent again a few times at most. Concurrent sweepers never requeue the
        same record twice."""
        due = AIInteractionRecord.status.in_((AIStatus.PENDING, AIStatus.PROCESSING)) & (
            AIInteractionRecord.due_at < now
        )
        candidates = (
            select(AIInteractionRecord.id).where(due).order_by(AIInteractionRecord.id).limit(limit)
        )
        next_due = case(
            *(
                (AIInteractionRecord.dispatches == step, now + grace * 2 ** (step + 1))
                for step in range(MAX_BACKOFF_STEPS)
            ),
            else_=now + grace * 2**MAX_BACKOFF_STEPS,
        )
        requeue = (
            update(AIInteractionRecord)
            # Ordered: MySQL assigns left to right and lets later expressions see earlier
            # assignments, so `due_at` must read `dispatches` before it is incremented.
            .ordered_values(
                (AIInteractionRecord.status, AIStatus.PENDING),
                (AIInteractionRecord.claim_token, None),
                (AIInteractionRecord.due_at, next_due),
                (AIInteractionRecord.dispatches, AIInteractionRecord.dispatches + 1),
                (AIInteractionRecord.updated_at, now),
            )
            .execution_options(synchronize_session=False)
        )
        if self.session.get_bind().dialect.update_returning:
            result = await self.session.execute(
                requeue.where(
                    AIInteractionRecord.id.in_(candidates.scalar_subquery()), due
                ).returning(AIInteractionRecord.record_id)
            )
            return list(result.scalars())
        # MySQL/MariaDB: no UPDATE … RETURNING (nor a LIMIT subquery on the updated table).
        # Lock the candidates, skipping rows another sweeper holds; they stay ours until commit.
        locked = await self.session.execute(
            candidates.add_columns(AIInteractionRecord.record_id).with_for_update(skip_locked=True)
        )
        rows = locked.all()
        if rows:
            await self.session.execute(
                requeue.where(AIInteractionRecord.id.in_([row_id for row_id, _ in rows]))
            )
        return [record_id for _, record_id in rows]

    async def get_by_group(
        self, group_id: str, page: int, page_size: int
    ) -> tuple[list[AIInteractionRecord], int]:
        """The group's REPLY records (the copilot's are listed by `get_copilot`)."""
        of_group = (AIInteractionRecord.group_id == group_id) & (
            AIInteractionRecord.kind == AIKind.REPLY
        )
        total = await self.session.execute(
            select(func.count()).select_from(AIInteractionRecord).where(of_group)
        )
        rows = await self.session.execute(
            select(AIInteractionRecord)
            .where(of_group)
            .order_by(AIInteractionRecord.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
        return list(rows.scalars()), int(total.scalar_one())

    async def get_copilot(
        self, group_id: str, doctor_id: str, limit: int
    ) -> list[AIInteractionRecord]:
        """The group's copilot records `doctor_id` may read, newest first: every SUMMARY, and
        the SUGGESTIONs this doctor asked for."""
        rows = await self.session.execute(
            select(AIInteractionRecord)
            .where(
                AIInteractionRecord.group_id == group_id,
                (AIInteractionRecord.kind == AIKind.SUMMARY)
                | (
                    (AIInteractionRecord.kind == AIKind.SUGGESTION)
                    & (AIInteractionRecord.requested_by == doctor_id)
                ),
            )
            .order_by(AIInteractionRecord.id.desc())
            .limit(limit)
        )
        return list(rows.scalars())

    async def summarised_until(self, group_id: str, message_id: str) -> bool:
        """A SUMMARY of the group covers the conversation up to `message_id` already."""
        result = await self.session.execute(
            select(AIInteractionRecord.id)
            .where(
                AIInteractionRecord.group_id == group_id,
                AIInteractionRecord.kind == AIKind.SUMMARY,
                AIInteractionRecord.user_message_id == message_id,
            )
            .limit(1)
        )
        return result.first() is not None

    async def get_by_record_id(self, record_id: str) -> AIInteractionRecord | None:
        result = await self.session.execute(
            select(AIInteractionRecord).where(AIInteractionRecord.record_id == record_id)
        )
        return result.scalar_one_or_none()
