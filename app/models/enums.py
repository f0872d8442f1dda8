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


class AIKind(StrEnum):
    """What an AI record asks for (SPEC §15): a REPLY to a patient, posted to the group, or a
    copilot task for the group's doctors (never a message): a hand-over SUMMARY or a reply
    SUGGESTION for the doctor who asked."""

    REPLY = "REPLY"
    SUMMARY = "SUMMARY"
    SUGGESTION = "SUGGESTION"


COPILOT_KINDS = (AIKind.SUMMARY, AIKind.SUGGESTION)


def check_in(column: str, allowed: Iterable[StrEnum]) -> str:
    """SQL for a CHECK constraint limiting `column` to `allowed` (an enum, or some members)."""
    values = ", ".join(f"'{member.value}'" for member in allowed)
    return f"{column} IN ({values})"
