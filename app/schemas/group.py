"""Group and membership schemas."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.models.enums import UserRole
from app.schemas.common import StrictRequest
from app.schemas.message import MessageResponse


class GroupCreate(StrictRequest):
    group_name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    owner_user_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Only with the service key: the DOCTOR who owns the new group.",
    )


class GroupUpdate(StrictRequest):
    group_name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    ai_enabled: bool | None = None


class GroupResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    group_id: str
    group_name: str
    description: str | None
    created_by: str
    ai_enabled: bool
    last_seq: int
    member_count: int
    created_at: datetime
    updated_at: datetime


class GroupSummary(GroupResponse):
    """A group as seen in the caller's list."""

    my_role: UserRole
    unread_count: int
    last_read_seq: int
    last_message: MessageResponse | None


class GroupMemberAdd(StrictRequest):
    user_id: str = Field(min_length=1, max_length=64)
    user_role: UserRole | None = None


class GroupMemberResponse(BaseModel):
    user_id: str
    username: str
    user_role: UserRole
    joined_at: datetime
    online: bool
