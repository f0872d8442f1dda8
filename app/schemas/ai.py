"""AI interaction record schemas."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from app.models.enums import AIStatus


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
