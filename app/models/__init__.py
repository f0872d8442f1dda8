"""ORM tables. Importing this package registers every table on `Base.metadata`."""

from app.models.ai_interaction_record import AIInteractionRecord
from app.models.enums import AIStatus, MessageType, UserRole
from app.models.group import Group
from app.models.group_member import GroupMember
from app.models.message import Message
from app.models.message_revision import MessageRevision
from app.models.user import User

__all__ = [
    "AIInteractionRecord",
    "AIStatus",
    "Group",
    "GroupMember",
    "Message",
    "MessageRevision",
    "MessageType",
    "User",
    "UserRole",
]
