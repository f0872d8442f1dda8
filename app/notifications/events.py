"""The webhook events of SPEC §13 as bodies: `{"type", "timestamp", "data"}`, JSON text fixed at
staging so that every attempt sends the same bytes."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from app.models import MessageType
from app.schemas.message import MessageResponse
from app.services.core.hooks import GroupChange, StoredMessage

MESSAGE_CREATED = "message.created"
MESSAGE_RECALLED = "message.recalled"
MEMBER_JOINED = "member.joined"
MEMBER_LEFT = "member.left"
GROUP_AI_TOGGLED = "group.ai_toggled"
AI_FAILED = "ai.failed"
SILENT_TYPES = frozenset({MessageType.EDIT})
"""Appends that report no event (SPEC §13 has no `message.edited`)."""


@dataclass(frozen=True)
class WebhookEvent:
    type: str
    group_id: str
    data: dict[str, Any]

    def body(self, at: datetime) -> str:
        payload = {"type": self.type, "timestamp": at.isoformat(), "data": self.data}
        return orjson.dumps(payload).decode()


def message_event(
    stored: StoredMessage, offline_member_ids: Collection[str]
) -> WebhookEvent | None:
    """`member.joined` / `member.left` for a join or leave, `message.recalled` for a RECALL
    entry, `message.created` for any other new message; None for an EDIT entry."""
    message = stored.message
    change = stored.membership
    if change is not None:
        return WebhookEvent(
            MEMBER_JOINED if change.joined else MEMBER_LEFT,
            change.group_id,
            {"group_id": change.group_id, "user_id": change.user_id, "user_role": change.user_role},
        )
    if message.msg_type in SILENT_TYPES:
        return None
    kind = MESSAGE_RECALLED if message.msg_type == MessageType.RECALL else MESSAGE_CREATED
    return WebhookEvent(
        kind,
        message.group_id,
        {
            "group_id": message.group_id,
            "message": MessageResponse.model_validate(message).model_dump(mode="json"),
            "offline_member_ids": sorted(offline_member_ids),
            "mentioned_user_ids": list(stored.mentions),
        },
    )


def ai_toggled_event(change: GroupChange) -> WebhookEvent | None:
    if "ai_enabled" not in change.changed:
        return None
    return WebhookEvent(
        GROUP_AI_TOGGLED,
        change.group_id,
        {"group_id": change.group_id, "ai_enabled": change.ai_enabled},
    )


def ai_failed_event(group_id: str, record_id: str, error_message: str) -> WebhookEvent:
    return WebhookEvent(
        AI_FAILED,
        group_id,
        {"group_id": group_id, "record_id": record_id, "error_message": error_message},
    )
