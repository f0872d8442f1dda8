"""Sign-in, tokens and sessions (SPEC §10)."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import StrictRequest
from app.schemas.user import Login, Password, UserResponse


class LoginRequest(StrictRequest):
    login: Login
    password: Password


class RefreshRequest(StrictRequest):
    refresh_token: str = Field(min_length=1, max_length=200)


class TokenPairResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int


class LoginResponse(TokenPairResponse):
    user: UserResponse


class SessionResponse(BaseModel):
    session_id: str
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None
    current: bool


class PasswordChange(StrictRequest):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: Password


class PasswordReset(StrictRequest):
    code: str = Field(min_length=1, max_length=64)
    new_password: Password


class ResetCodeResponse(BaseModel):
    code: str
    expires_at: datetime
