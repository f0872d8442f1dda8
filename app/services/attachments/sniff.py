"""What a file is, from its bytes (SPEC §12): never from the client's name or Content-Type.

Binary kinds by their signatures; `text` is the fallback for valid UTF-8 without NUL that does
not look like markup a browser would render (HTML, XML, SVG).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

HEAD_BYTES = 512
TEXT_CHUNK = 64 * 1024
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
MARKUP = re.compile(
    rb"^\s*<(\?xml|!doctype|!--|html|head|body|script|iframe|svg|style|title|table|div|a\b|"
    rb"p\b|b\b|br|h1|font)",
    re.IGNORECASE,
)
"""The starts of markup a browser would render (after the WHATWG MIME sniffing patterns)."""


@dataclass(frozen=True)
class Kind:
    name: str
    """As listed in ATTACHMENT_TYPES."""
    mime: str

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")


JPEG = Kind("jpeg", "image/jpeg")
PNG = Kind("png", "image/png")
WEBP = Kind("webp", "image/webp")
GIF = Kind("gif", "image/gif")
HEIC = Kind("heic", "image/heic")
PDF = Kind("pdf", "application/pdf")
TEXT = Kind("text", "text/plain; charset=utf-8")


def sniff_head(head: bytes) -> Kind | None:
    """A binary kind from the first bytes, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return HEIC
    if head.startswith(b"%PDF-"):
        return PDF
    return None


def sniff_file(path: Path) -> Kind | None:
    """The file's kind, or None for anything else (blocking: call in a thread)."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
        kind = sniff_head(head)
        if kind is not None:
            return kind
        if MARKUP.match(head.lstrip(b"\xef\xbb\xbf")):
            return None
        handle.seek(0)
        return TEXT if _is_plain_text(handle) else None


def _is_plain_text(handle: BinaryIO) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    while chunk := handle.read(TEXT_CHUNK):
        if b"\x00" in chunk:
            return False
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError:
            return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True
