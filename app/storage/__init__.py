"""Object storage for attachments' bytes (SPEC §12): a local directory or any S3-compatible
store, chosen by `STORAGE_URL`. Nothing here knows what an attachment is; the database holds
the metadata."""

from app.storage.base import ObjectMissing, Storage
from app.storage.factory import create_storage

__all__ = ["ObjectMissing", "Storage", "create_storage"]
