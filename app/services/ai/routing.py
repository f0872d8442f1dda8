"""Which messages go to the AI (SPEC §7): the sender's role *in that group* is PATIENT, the
group has `ai_enabled`, and the message is a TEXT. DOCTOR and AI_ASSISTANT messages never do
(no loops)."""

from app.models import MessageType, UserRole


def routes_to_ai(*, group_ai_enabled: bool, sender_group_role: str, msg_type: str) -> bool:
    return (
        group_ai_enabled and msg_type == MessageType.TEXT and sender_group_role == UserRole.PATIENT
    )
