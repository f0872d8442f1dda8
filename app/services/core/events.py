"""The events the core emits after a commit (SPEC §6), as JSON-able dicts.

Services build them here and hand them to the fan-out; nothing here sends anything.
"""

from collections.abc import Callable
from typing import Any

from app.models import Message
from app.realtime.envelope import Event
from app.schemas.group import GroupResponse
from app.schemas.message import MessageResponse

Present = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns a stored message row into what clients get (`Hooks.present`: attachment links)."""


def message_payload(message: Message, present: Present | None = None) -> dict[str, Any]:
    payload = MessageResponse.model_validate(message).model_dump(mode="json")
    return payload if present is None else present(payload)


def message_event(message: Message, present: Present | None = None) -> Event:
    return {"type": "message", "message": message_payload(message, present)}


def membership_event(kind: str, group_id: str, user_id: str) -> Event:
    return {"type": kind, "group_id": group_id, "user_id": user_id}


def read_event(group_id: str, user_id: str, seq: int) -> Event:
    return {"type": "read", "group_id": group_id, "user_id": user_id, "seq": seq}


def typing_event(group_id: str, user_id: str) -> Event:
    return {"type": "typing", "group_id": group_id, "user_id": user_id}


def presence_event(user_id: str, *, online: bool) -> Event:
    return {"type": "presence", "user_id": user_id, "online": online}


def group_updated_event(group: GroupResponse) -> Event:
    return {"type": "group_updated", "group": group.model_dump(mode="json")}
