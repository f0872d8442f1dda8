"""AI interaction records of a group (its doctors, or the service key), and the doctors'
copilot (SPEC §15): ask for a summary or a reply suggestion, read the copilot's records."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import ActorDep, AIRecordsServiceDep, CopilotServiceDep, CurrentUser
from app.api.responses import errors
from app.models import AIKind
from app.schemas.ai import (
    AIInteractionListResponse,
    AIInteractionResponse,
    CopilotAccepted,
    CopilotListResponse,
    CopilotRecordResponse,
    CopilotRequest,
)
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


COPILOT_ERRORS = errors(401, 403, 404, 409, 422, 429, 503)


@router.post("/summary", status_code=202, response_model=CopilotAccepted, responses=COPILOT_ERRORS)
async def request_summary(
    body: CopilotRequest, user: CurrentUser, copilot: CopilotServiceDep
) -> CopilotAccepted:
    """A summary of the consultation for the group's doctors (streamed as `ai_copilot_delta`,
    then `ai_copilot`)."""
    return CopilotAccepted(record_id=await copilot.request(user, body.group_id, AIKind.SUMMARY))


@router.post("/suggest", status_code=202, response_model=CopilotAccepted, responses=COPILOT_ERRORS)
async def request_suggestion(
    body: CopilotRequest, user: CurrentUser, copilot: CopilotServiceDep
) -> CopilotAccepted:
    """A draft reply to the latest patient messages, for the asking doctor only."""
    record_id = await copilot.request(user, body.group_id, AIKind.SUGGESTION)
    return CopilotAccepted(record_id=record_id)


@router.get(
    "/copilot", response_model=CopilotListResponse, responses=errors(401, 403, 404, 422, 503)
)
async def list_copilot(
    user: CurrentUser,
    copilot: CopilotServiceDep,
    group_id: GroupIdQuery,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CopilotListResponse:
    """The group's summaries and the caller's suggestions, newest first."""
    records = await copilot.list_for_doctor(user, group_id, limit)
    return CopilotListResponse(records=[CopilotRecordResponse.of(r) for r in records])
