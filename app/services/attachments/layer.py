"""The attachments layer as the wiring sees it: the store, the link signer, the upload and
download service and the orphan clean-up; it presents messages' attachments to clients through
the core's hooks (signed links added per response)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import timedelta

from app.config import Settings
from app.db.session import Database
from app.services.attachments.cleanup import sweep_forever
from app.services.attachments.service import AttachmentService
from app.services.attachments.signing import UrlSigner
from app.services.core.hooks import Hooks
from app.storage import Storage, create_storage


class AttachmentsLayer:
    def __init__(self, settings: Settings, db: Database, storage: Storage | None = None) -> None:
        self.storage = storage if storage is not None else create_storage(settings)
        self.signer = UrlSigner(settings.jwt_secret, settings.attachment_url_ttl_minutes * 60)
        self.service = AttachmentService(
            db,
            self.storage,
            self.signer,
            allowed_types=frozenset(settings.attachment_types),
            max_bytes=settings.attachment_max_bytes,
            spool_dir=settings.attachment_spool_dir or None,
        )
        self.orphan_age = timedelta(hours=settings.attachment_orphan_hours)
        self._db = db
        self._sweeper: asyncio.Task[None] | None = None

    def install(self, hooks: Hooks) -> None:
        hooks.set_attachment_links(self.signer.links)

    def start(self) -> None:
        self._sweeper = asyncio.create_task(
            sweep_forever(self._db, self.storage, self.orphan_age), name="attachment-orphans"
        )

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.storage.close()


def absolute_link(settings: Settings) -> Callable[[str], str]:
    """attachment_id → an absolute signed URL of its content on `PUBLIC_BASE_URL`: what the AI
    providers fetch (SPEC §12). Works in any process that shares SECRET_KEY (a Celery worker)."""
    signer = UrlSigner(settings.jwt_secret, settings.attachment_url_ttl_minutes * 60)
    base = settings.public_url

    def link(attachment_id: str) -> str:
        return base + signer.path(attachment_id, "content")

    return link
