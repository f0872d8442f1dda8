"""Attachment schemas (SPEC §12)."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class AttachmentResponse(BaseModel):
    """An upload as stored: send it with `attachment_id` in a message of its group."""

    model_config = ConfigDict(from_attributes=True)

    attachment_id: str
    group_id: str
    name: str
    mime: str
    """Sniffed from the bytes (an image as re-encoded: HEIC is stored as JPEG)."""
    size: int
    sha256: str
    width: int | None = None
    height: int | None = None
    created_at: datetime
