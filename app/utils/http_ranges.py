"""HTTP helpers for file downloads: one `Range` (RFC 9110 §14) and `Content-Disposition` with
a file name in any language (RFC 6266 / RFC 8187)."""

from __future__ import annotations

import re
from urllib.parse import quote

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class Unsatisfiable(Exception):
    """The range lies outside the object (416)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single satisfiable range, or None to send the whole object (no
    header, several ranges, or a header we do not understand — RFC 9110 lets us ignore those).
    Raises Unsatisfiable."""
    if header is None:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise Unsatisfiable
        return max(size - length, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise Unsatisfiable
    return start, min(end, size - 1)


def content_disposition(kind: str, name: str) -> str:
    """`inline` or `attachment` with the name twice: an ASCII fallback for old clients and
    the exact UTF-8 name as `filename*` (what every current browser uses)."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\%' else "_" for ch in name)
    encoded = quote(name, safe="!#$&+-.^_`|~")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
