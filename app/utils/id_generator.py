"""Prefixed, time-sortable identifiers: `<prefix>_<48-bit ms timestamp><80 random bits>` in hex.

Lexical order follows creation time to the millisecond; the random tail makes collisions
negligible across processes without coordination.
"""

import secrets
import time


def _generate(prefix: str) -> str:
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{millis:012x}{secrets.token_hex(10)}"


def generate_user_id() -> str:
    return _generate("user")


def generate_group_id() -> str:
    return _generate("group")


def generate_message_id() -> str:
    return _generate("msg")


def generate_record_id() -> str:
    return _generate("record")


def generate_attachment_id() -> str:
    return _generate("att")


def generate_request_id() -> str:
    return secrets.token_hex(8)


def generate_session_id() -> str:
    return _generate("sess")
