"""Which messages go to the AI (SPEC §7): the sender's role *in that group* is PATIENT, the
group has `ai_enabled`, and `AI_ENABLED` is on. DOCTOR and AI_ASSISTANT messages never do."""

from app.db.session import Database
from app.models import MessageType, UserRole
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository


def routes_to_ai(
    *, ai_layer_enabled: bool, group_ai_enabled: bool, sender_group_role: str, msg_type: str
) -> bool:
    """The routing rule itself, for callers that already hold the facts (the send path)."""
    return (
        ai_layer_enabled
        and group_ai_enabled
        and msg_type == MessageType.TEXT
        and sender_group_role == UserRole.PATIENT
    )


class MessageRouterService:
    def __init__(self, db: Database, *, ai_layer_enabled: bool) -> None:
        self.db = db
        self.ai_layer_enabled = ai_layer_enabled

    async def get_user_role_in_group(self, group_id: str, user_id: str) -> str | None:
        async with self.db.read() as session:
            member = await GroupMemberRepository(session).get_member(group_id, user_id)
        return member.user_role if member is not None else None

    async def should_route_to_ai(self, group_id: str, user_id: str) -> bool:
        """Would a TEXT message from `user_id` to `group_id` go to the AI right now?"""
        role = await self.get_user_role_in_group(group_id, user_id)
        if role is None:
            return False
        async with self.db.read() as session:
            group = await GroupRepository(session).get_by_id(group_id)
        return group is not None and routes_to_ai(
            ai_layer_enabled=self.ai_layer_enabled,
            group_ai_enabled=group.ai_enabled,
            sender_group_role=role,
            msg_type=MessageType.TEXT,
        )
