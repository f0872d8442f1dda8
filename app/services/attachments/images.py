"""Images re-encoded before they are stored (SPEC §12): decoded in full (a file that claims to
be an image but does not decode is refused), turned upright, written anew without EXIF/GPS or
any other metadata but the colour profile, and a thumbnail (longest side 320 px, WebP) made.
HEIC is decoded through pillow-heif and stored as JPEG, which every browser shows.

Blocking: run `process_image` in a thread.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from app.services.attachments.sniff import GIF, HEIC, JPEG, PNG, WEBP, Kind

THUMBNAIL_SIDE = 320
THUMBNAIL_MIME = "image/webp"
MAX_PIXELS = 50_000_000
"""Larger images are refused before they are decoded (a decompression bomb)."""
PILLOW_FORMATS = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP", GIF: "GIF", HEIC: "HEIF"}

pillow_heif.register_heif_opener()


class NotAnImage(Exception):
    """The bytes do not decode as the image they claim to be."""


@dataclass(frozen=True)
class ProcessedImage:
    path: Path
    mime: str
    width: int
    height: int
    thumbnail: Path

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        self.thumbnail.unlink(missing_ok=True)


def process_image(source: Path, kind: Kind, spool_dir: str | None = None) -> ProcessedImage:
    """Re-encode `source` and make its thumbnail (two new temporary files). Raises NotAnImage."""
    fmt = PILLOW_FORMATS[kind]
    try:
        with Image.open(source, formats=[fmt]) as image:
            if image.width * image.height > MAX_PIXELS:
                raise NotAnImage(f"{image.width}x{image.height} is too many pixels")
            image.load()
            return _reencode(image, kind, spool_dir)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise NotAnImage(str(exc)) from exc


def _reencode(image: Image.Image, kind: Kind, spool_dir: str | None) -> ProcessedImage:
    icc_profile = image.info.get("icc_profile")
    animated = kind == GIF and getattr(image, "n_frames", 1) > 1
    upright = image if animated else ImageOps.exif_transpose(image)
    out = _temp(".img", spool_dir)
    thumb = _temp(".thumb", spool_dir)
    try:
        preview = _rgb(upright.copy())
        preview.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        preview.save(thumb, format="WEBP", quality=80)
        mime = _save(upright, kind, out, icc_profile, animated=animated)
    except BaseException:
        out.unlink(missing_ok=True)
        thumb.unlink(missing_ok=True)
        raise
    return ProcessedImage(out, mime, upright.width, upright.height, thumb)


def _save(
    image: Image.Image, kind: Kind, out: Path, icc_profile: bytes | None, *, animated: bool
) -> str:
    """Write the pixels only: no EXIF, XMP, comments or text chunks are passed on."""
    image.info = {}
    extra = {"icc_profile": icc_profile} if icc_profile else {}
    if kind == GIF:
        image.save(out, format="GIF", save_all=animated)
        return GIF.mime
    if kind == PNG:
        image.save(out, format="PNG", **extra)
        return PNG.mime
    if kind == WEBP:
        image.save(out, format="WEBP", quality=90, **extra)
        return WEBP.mime
    # JPEG, and HEIC stored as JPEG.
    _rgb(image, alpha=False).save(out, format="JPEG", quality=90, **extra)
    return JPEG.mime


AI_IMAGE_SIDE = 1568
"""Images sent to a vision model are at most this many pixels on their longest side (what the
providers scale down to anyway), as JPEG: a few hundred kilobytes instead of up to 20 MB."""


def image_for_ai(data: bytes) -> bytes:
    """A stored image as a JPEG of at most AI_IMAGE_SIDE px (blocking: call in a thread)."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        small = _rgb(image.copy(), alpha=False)
    small.thumbnail((AI_IMAGE_SIDE, AI_IMAGE_SIDE))
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _rgb(image: Image.Image, *, alpha: bool = True) -> Image.Image:
    if image.mode in ("RGB", "L") or (alpha and image.mode == "RGBA"):
        return image
    if alpha and ("A" in image.getbands() or "transparency" in image.info):
        return image.convert("RGBA")
    return image.convert("RGB")


def _temp(suffix: str, spool_dir: str | None) -> Path:
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed here, removed by the caller
        prefix="upload-", suffix=suffix, dir=spool_dir, delete=False
    )
    handle.close()
    return Path(handle.name)
