"""A stored message as a turn of the conversation the AI is given (SPEC §7): the patient's as
user turns, the AI assistant's as assistant turns, a doctor's as user turns prefixed with the
doctor's name."""

from app.models import UserRole
from app.services.ai.providers import Turn


def as_turn(role: str, username: str, content: str) -> Turn:
    if role == UserRole.AI_ASSISTANT:
        return Turn("assistant", content)
    if role == UserRole.DOCTOR:
        return Turn("user", f"[Doctor {username}] {content}")
    return Turn("user", content)
