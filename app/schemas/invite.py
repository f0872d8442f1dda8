"""Invite schemas (SPEC §10): group invites, doctor invites, the public preview."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.models.enums import InviteKind, UserRole
from app.schemas.common import StrictRequest

ExpiresInHours = Field(default=72, ge=1, le=24 * 30)


class GroupInviteCreate(StrictRequest):
    user_role: Literal[UserRole.PATIENT, UserRole.DOCTOR] = UserRole.PATIENT
    max_uses: int = Field(default=1, ge=1, le=1000)
    expires_in_hours: int = ExpiresInHours


class DoctorInviteCreate(StrictRequest):
    kind: Literal[InviteKind.DOCTOR]
    expires_in_hours: int = ExpiresInHours


class InviteResponse(BaseModel):
    code: str
    url: str
    kind: InviteKind
    group_id: str | None
    user_role: UserRole
    max_uses: int
    uses: int
    expires_at: datetime
    created_at: datetime


class InvitePreview(BaseModel):
    """What anyone holding the code may see, and nothing more."""

    kind: InviteKind
    group_name: str | None
    inviter_name: str | None
    user_role: UserRole
    expires_at: datetime
