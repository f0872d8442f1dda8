"""Queries on `ai_interaction_records`, including the atomic claim that keeps a record from
being processed twice at once."""

from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.models import AIInteractionRecord, AIStatus


class AIInteractionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        record_id: str,
        group_id: str,
        user_message_id: str,
        ai_service_url: str,
        request_content: str,
    ) -> AIInteractionRecord:
        record = self.stage(record_id, group_id, user_message_id, ai_service_url, request_content)
        await self.session.flush()
        return record

    def stage(
        self,
        record_id: str,
        group_id: str,
        user_message_id: str,
        ai_service_url: str,
        request_content: str,
    ) -> AIInteractionRecord:
        """Add a PENDING record to the transaction without a round trip (written at flush)."""
        record = AIInteractionRecord(
            record_id=record_id,
            group_id=group_id,
            user_message_id=user_message_id,
            ai_service_url=ai_service_url,
            request_content=request_content,
            status=AIStatus.PENDING,
            attempts=0,
        )
        self.session.add(record)
        return record

    async def get_by_id(self, record_id: str) -> AIInteractionRecord | None:
        result = await self.session.execute(
            select(AIInteractionRecord).where(AIInteractionRecord.record_id == record_id)
        )
        return result.scalar_one_or_none()

    async def claim(self, record_id: str) -> bool:
        """Move a PENDING record to PROCESSING. One UPDATE decides, so of two workers racing
        for a record exactly one wins."""
        result = await self.session.execute(
            update(AIInteractionRecord)
            .where(
                AIInteractionRecord.record_id == record_id,
                AIInteractionRecord.status == AIStatus.PENDING,
            )
            .values(status=AIStatus.PROCESSING, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def requeue_unfinished(
        self, pending_before: datetime, stale_before: datetime, limit: int = 200
    ) -> list[str]:
        """Reset to PENDING (touching `updated_at`) and return the records whose dispatch may
        be lost (PENDING since before `pending_before`) or whose worker died (PROCESSING since
        before `stale_before`). Concurrent sweepers never requeue the same record twice."""
        unfinished = or_(
            (AIInteractionRecord.status == AIStatus.PENDING)
            & (AIInteractionRecord.updated_at < pending_before),
            (AIInteractionRecord.status == AIStatus.PROCESSING)
            & (AIInteractionRecord.updated_at < stale_before),
        )
        candidates = (
            select(AIInteractionRecord.id)
            .where(unfinished)
            .order_by(AIInteractionRecord.id)
            .limit(limit)
        )
        requeue = (
            update(AIInteractionRecord)
            .values(status=AIStatus.PENDING, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if self.session.get_bind().dialect.update_returning:
            result = await self.session.execute(
                requeue.where(
                    AIInteractionRecord.id.in_(candidates.scalar_subquery()), unfinished
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

    async def set_request(self, record_id: str, request_content: str) -> None:
        await self._finish(record_id, request_content=request_content)

    async def update_success(
        self,
        record_id: str,
        ai_message_id: str,
        response_content: str,
        duration_ms: int,
        attempts: int = 1,
    ) -> None:
        await self._finish(
            record_id,
            status=AIStatus.SUCCESS,
            attempts=attempts,
            ai_message_id=ai_message_id,
            response_content=response_content,
            duration_ms=duration_ms,
            error_message=None,
        )

    async def update_failed(
        self,
        record_id: str,
        error_message: str,
        duration_ms: int | None = None,
        attempts: int = 0,
    ) -> None:
        await self._finish(
            record_id,
            status=AIStatus.FAILED,
            attempts=attempts,
            error_message=error_message[:2000],
            duration_ms=duration_ms,
        )

    async def _finish(self, record_id: str, **values: object) -> None:
        await self.session.execute(
            update(AIInteractionRecord)
            .where(AIInteractionRecord.record_id == record_id)
            .values(updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )

    async def get_by_group(
        self, group_id: str, page: int, page_size: int
    ) -> tuple[list[AIInteractionRecord], int]:
        total = await self.session.execute(
            select(func.count())
            .select_from(AIInteractionRecord)
            .where(AIInteractionRecord.group_id == group_id)
        )
        rows = await self.session.execute(
            select(AIInteractionRecord)
            .where(AIInteractionRecord.group_id == group_id)
            .order_by(AIInteractionRecord.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
        return list(rows.scalars()), int(total.scalar_one())
