"""AI interaction records of a group (its doctors, or the service key)."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import ActorDep, AIRecordsServiceDep
from app.api.responses import errors
from app.schemas.ai import AIInteractionListResponse, AIInteractionResponse
from app.schemas.common import GroupIdQuery
from app.schemas.message import MAX_SEQ

router = APIRouter(prefix="/ai", tags=["ai"])


@router.get(
    "/interactions", response_model=AIInteractionListResponse, responses=errors(401, 403, 404, 422)
)
async def list_interactions(
    actor: ActorDep,
    ai_records: AIRecordsServiceDep,
    group_id: GroupIdQuery,
    page: Annotated[int, Query(ge=1, le=MAX_SEQ)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> AIInteractionListResponse:
    records, total = await ai_records.list_for_group(actor, group_id, page, page_size)
    return AIInteractionListResponse(
        records=[AIInteractionResponse.model_validate(r) for r in records],
        total=total,
        page=page,
        page_size=page_size,
    )
