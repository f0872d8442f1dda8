"""User and token schemas."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.models.enums import UserRole
from app.schemas.common import StrictRequest

Username = Field(min_length=1, max_length=64)


class UserCreate(StrictRequest):
    username: str = Username
    user_role: UserRole


class UserUpdate(StrictRequest):
    user_role: UserRole


class UserResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: str
    username: str
    user_role: UserRole
    created_at: datetime
    updated_at: datetime


class UserWithToken(UserResponse):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105


class TokenRequest(StrictRequest):
    user_id: str = Field(min_length=1, max_length=64)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int
