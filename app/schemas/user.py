"""User and token schemas."""

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from app.models.enums import UserRole
from app.schemas.common import StrictRequest

Username = Field(min_length=1, max_length=64)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


Login = Annotated[
    str,
    BeforeValidator(_lower),
    StringConstraints(min_length=3, max_length=32, pattern=r"^[a-z0-9_.\-]+$"),
]
"""3..32 of [a-z0-9_.-], lower-cased before it is validated (at sign-up and at login)."""
Password = Annotated[str, Field(min_length=8, max_length=128)]


class UserCreate(StrictRequest):
    username: str = Username
    user_role: UserRole
    login: Login | None = None
    password: Password | None = None
    invite_code: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _login_with_password(self) -> Self:
        if (self.login is None) != (self.password is None):
            raise ValueError("login and password come together or not at all")
        return self


class UserUpdate(StrictRequest):
    user_role: UserRole


class ProfileUpdate(StrictRequest):
    username: str | None = Field(default=None, min_length=1, max_length=64)


class UserResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: str
    username: str
    user_role: UserRole
    created_at: datetime
    updated_at: datetime


class UserWithToken(UserResponse):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int


class TokenRequest(StrictRequest):
    user_id: str = Field(min_length=1, max_length=64)
