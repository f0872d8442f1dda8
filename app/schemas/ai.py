"""AI interaction record schemas, and the copilot's (SPEC §15)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.models import AIInteractionRecord
from app.models.enums import AIKind, AIStatus
from app.schemas.common import ID_PATTERN, StrictRequest


class AIInteractionResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    record_id: str
    group_id: str
    user_message_id: str
    ai_message_id: str | None
    ai_service_url: str
    status: AIStatus
    attempts: int
    duration_ms: int | None
    error_message: str | None
    request_content: str
    response_content: str | None
    created_at: datetime
    updated_at: datetime


class AIInteractionListResponse(BaseModel):
    records: list[AIInteractionResponse]
    total: int
    page: int
    page_size: int


class CopilotRequest(StrictRequest):
    group_id: Annotated[str, Field(pattern=ID_PATTERN)]


class CopilotAccepted(BaseModel):
    record_id: str


class CopilotRecordResponse(BaseModel):
    """A copilot record as its doctors see it (SPEC §15): `content` is the text once SUCCESS."""

    record_id: str
    kind: AIKind
    status: AIStatus
    content: str | None
    error: str | None
    requested_by: str | None
    created_at: datetime

    @classmethod
    def of(cls, record: AIInteractionRecord) -> CopilotRecordResponse:
        return cls(
            record_id=record.record_id,
            kind=AIKind(record.kind),
            status=AIStatus(record.status),
            content=record.response_content,
            error=record.error_message,
            requested_by=record.requested_by,
            created_at=record.created_at,
        )


class CopilotListResponse(BaseModel):
    records: list[CopilotRecordResponse]
