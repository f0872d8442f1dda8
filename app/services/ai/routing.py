"""Which messages go to the AI (SPEC §7, §11, §12): a TEXT (or an IMAGE, with its caption)
whose sender's role *in that group* is PATIENT while the group has `ai_enabled`, or one in
which a DOCTOR member mentions the AI assistant (the doctor consults it, even with the group's
AI off). AI_ASSISTANT messages never do (no loops), nor do SYSTEM messages, FILEs, or EDIT and
RECALL entries (a change never re-asks)."""

from app.models import MessageType, UserRole


def routes_to_ai(
    *, group_ai_enabled: bool, sender_group_role: str, msg_type: str, mentions_assistant: bool
) -> bool:
    if msg_type not in (MessageType.TEXT, MessageType.IMAGE):
        return False
    if sender_group_role == UserRole.DOCTOR:
        return mentions_assistant
    return group_ai_enabled and sender_group_role == UserRole.PATIENT
