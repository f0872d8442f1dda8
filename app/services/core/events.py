"""Real-time events the core emits after a commit, and the sink they go to.

The core builds events; `RealtimeService` (websocket_service.py) is the sink that fans them out
through the broker. Events are plain dicts shaped as in SPEC §6.
"""

from collections.abc import Iterable
from typing import Any, Protocol

from app.models import Message
from app.schemas.message import MessageResponse

Event = dict[str, Any]


class EventSink(Protocol):
    def send_message_to_group(
        self,
        group_id: str,
        message: Event,
        exclude_user_id: str | None = None,
        *,
        exclude_connection_id: str | None = None,
        also_user_ids: Iterable[str] = (),
        membership_changed: bool = False,
    ) -> None:
        """Queue `message` for every connection of every member of the group (non-blocking).

        `membership_changed` first drops every instance's cached member list of the group.
        """

    def send_message_to_users(
        self,
        user_ids: Iterable[str],
        message: Event,
        *,
        exclude_connection_id: str | None = None,
    ) -> None:
        """Queue `message` for every connection of the given users (non-blocking)."""


def message_payload(message: Message) -> dict[str, Any]:
    return MessageResponse.model_validate(message).model_dump(mode="json")


def message_event(message: Message) -> Event:
    return {"type": "message", "message": message_payload(message)}


def membership_event(kind: str, group_id: str, user_id: str) -> Event:
    return {"type": kind, "group_id": group_id, "user_id": user_id}


def read_event(group_id: str, user_id: str, seq: int) -> Event:
    return {"type": "read", "group_id": group_id, "user_id": user_id, "seq": seq}
