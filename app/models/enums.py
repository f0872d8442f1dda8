"""Closed vocabularies stored in the tables (SPEC §3)."""

from collections.abc import Iterable
from enum import StrEnum


class UserRole(StrEnum):
    PATIENT = "PATIENT"
    DOCTOR = "DOCTOR"
    AI_ASSISTANT = "AI_ASSISTANT"


class MessageType(StrEnum):
    TEXT = "TEXT"
    SYSTEM = "SYSTEM"
    IMAGE = "IMAGE"
    FILE = "FILE"
    EDIT = "EDIT"
    RECALL = "RECALL"


CHANGE_TYPES = (MessageType.EDIT, MessageType.RECALL)
"""Log entries that change an earlier message (SPEC §11): never unread, never a group's last
message, never routed to the AI."""
CHANGEABLE_TYPES = (MessageType.TEXT, MessageType.IMAGE, MessageType.FILE)
"""What a sender may edit (the text, or an attachment's caption) and recall."""


class InviteKind(StrEnum):
    GROUP = "group"
    DOCTOR = "doctor"


class AIStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


def check_in(column: str, allowed: Iterable[StrEnum]) -> str:
    """SQL for a CHECK constraint limiting `column` to `allowed` (an enum, or some members)."""
    values = ", ".join(f"'{member.value}'" for member in allowed)
    return f"{column} IN ({values})"
