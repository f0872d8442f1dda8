"""ORM tables. Importing this package registers every table on `Base.metadata`."""

from app.models.ai_interaction_record import AIInteractionRecord
from app.models.attachment import Attachment
from app.models.enums import AIKind, AIStatus, InviteKind, MessageType, UserRole
from app.models.group import Group
from app.models.group_member import GroupMember
from app.models.invite import Invite
from app.models.message import Message
from app.models.message_revision import MessageRevision
from app.models.password_reset import PasswordResetCode
from app.models.push_mark import PushMark
from app.models.push_subscription import PushSubscription
from app.models.session import RefreshToken, UserSession
from app.models.user import User
from app.models.webhook_delivery import WebhookDelivery

__all__ = [
    "AIInteractionRecord",
    "AIKind",
    "AIStatus",
    "Attachment",
    "Group",
    "GroupMember",
    "Invite",
    "InviteKind",
    "Message",
    "MessageRevision",
    "MessageType",
    "PasswordResetCode",
    "PushMark",
    "PushSubscription",
    "RefreshToken",
    "User",
    "UserRole",
    "UserSession",
    "WebhookDelivery",
]
