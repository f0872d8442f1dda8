"""Test files built here with Pillow (no binary fixtures): images of every allowed kind, a JPEG
carrying GPS EXIF, and files that must be refused."""

from __future__ import annotations

import io
from typing import Any

import pillow_heif
from PIL import Image

pillow_heif.register_heif_opener()

GPS_IFD = 0x8825
GPS_LATITUDE = 2


def image_bytes(fmt: str, size: tuple[int, int] = (800, 600), **save: Any) -> bytes:
    mode = "RGBA" if fmt in ("PNG", "WEBP") else "RGB"
    image = Image.new(mode, size, (200, 30, 60, 255) if mode == "RGBA" else (200, 30, 60))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def jpeg_with_gps(size: tuple[int, int] = (1200, 900)) -> bytes:
    """A photo that says where it was taken (and who made the camera)."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 12"  # Model
    exif.get_ifd(GPS_IFD).update(
        {1: "N", GPS_LATITUDE: (31.0, 14.0, 6.0), 3: "E", 4: (121.0, 28.0, 12.0)}
    )
    return image_bytes("JPEG", size, exif=exif.tobytes())


def animated_gif() -> bytes:
    frames = [Image.new("P", (64, 64), colour) for colour in (1, 2, 3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
TEXT = "化验结果：白细胞 5.2，正常。\nWBC 5.2 — normal 👍\n".encode()  # noqa: RUF001
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(200)
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(200)
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
BARE_SVG = b'  <svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
LATIN1_TEXT = "caf\xe9 na\xefve".encode("latin-1")


def exif_of(data: bytes) -> Image.Exif:
    with Image.open(io.BytesIO(data)) as image:
        return image.getexif()


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def format_of(data: bytes) -> str | None:
    with Image.open(io.BytesIO(data)) as image:
        return image.format
