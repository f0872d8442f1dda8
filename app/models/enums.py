"""Closed vocabularies stored in the tables (SPEC §3)."""

from enum import StrEnum


class UserRole(StrEnum):
    PATIENT = "PATIENT"
    DOCTOR = "DOCTOR"
    AI_ASSISTANT = "AI_ASSISTANT"


class MessageType(StrEnum):
    TEXT = "TEXT"
    SYSTEM = "SYSTEM"


class InviteKind(StrEnum):
    GROUP = "group"
    DOCTOR = "doctor"


class AIStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


def check_in(column: str, enum: type[StrEnum]) -> str:
    """SQL for a CHECK constraint limiting `column` to the enum's values."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"
