"""The envelope: one event on its way to sockets, with who should receive it — or a signal, a
named instruction every instance hands to its own handler (`Fanout.signal`).

The event itself is serialised once, by the instance that publishes it; every instance reads the
addressing fields to pick its own recipients. Nothing here knows what an event or a signal means.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

Event = dict[str, Any]
"""A server → client event as SPEC §6 shapes it (JSON-able)."""


def encode_event(event: Event) -> str:
    """The event's JSON text. Text that is not valid UTF-8 (a lone surrogate from an external
    service) is escaped instead of refused, so no content can break a delivery."""
    try:
        return orjson.dumps(event, option=orjson.OPT_UTC_Z).decode()
    except orjson.JSONEncodeError:
        return json.dumps(event, default=str)


@dataclass(frozen=True, slots=True)
class Envelope:
    """Recipients: every member of `group_id` (minus `exclude_user_id`) plus `user_ids`; the
    connection `exclude_connection_id` (the sender's own) is skipped. `joined` / `left`: the
    user whose membership of `group_id` this event announces (the routes follow it)."""

    event: str
    group_id: str | None = None
    user_ids: tuple[str, ...] = ()
    exclude_user_id: str | None = None
    exclude_connection_id: str | None = None
    joined: str | None = None
    left: str | None = None
    signal: str | None = None
    """Not an event for sockets: the name of a signal, whose arguments are `args`."""
    args: tuple[str, ...] = ()
    published_at: float = field(default_factory=time.time)

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "event": self.event,
                "group_id": self.group_id,
                "user_ids": self.user_ids,
                "exclude_user_id": self.exclude_user_id,
                "exclude_connection_id": self.exclude_connection_id,
                "joined": self.joined,
                "left": self.left,
                "signal": self.signal,
                "args": self.args,
                "published_at": self.published_at,
            }
        )

    @classmethod
    def from_json(cls, data: bytes | str) -> Envelope:
        """Raises ValueError for anything that is not an envelope this code wrote."""
        try:
            raw = orjson.loads(data)
            return cls(
                event=_str(raw["event"]),
                group_id=_optional_str(raw.get("group_id")),
                user_ids=tuple(_str(user_id) for user_id in raw.get("user_ids") or ()),
                exclude_user_id=_optional_str(raw.get("exclude_user_id")),
                exclude_connection_id=_optional_str(raw.get("exclude_connection_id")),
                joined=_optional_str(raw.get("joined")),
                left=_optional_str(raw.get("left")),
                signal=_optional_str(raw.get("signal")),
                args=tuple(_str(arg) for arg in raw.get("args") or ()),
                published_at=float(raw.get("published_at") or time.time()),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not an envelope: {exc}") from exc


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _optional_str(value: Any) -> str | None:
    return None if value is None else _str(value)
