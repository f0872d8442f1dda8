"""Reading a group's AI interaction records: for its DOCTOR members or the service key. These
are the replies to patients; the copilot's records are read through `CopilotService`."""

from app.db.session import Database
from app.models import AIInteractionRecord
from app.repositories.ai_interaction_repository import AIInteractionRepository
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.services.core.actor import Actor
from app.services.core.permissions import require_group_admin


class AIRecordsService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_for_group(
        self, actor: Actor, group_id: str, page: int, page_size: int
    ) -> tuple[list[AIInteractionRecord], int]:
        """Newest first. Raises NotFound (group) or PermissionDenied (not a group doctor)."""
        async with self.db.read() as session:
            await require_group_admin(
                GroupRepository(session), GroupMemberRepository(session), group_id, actor
            )
            return await AIInteractionRepository(session).get_by_group(group_id, page, page_size)
