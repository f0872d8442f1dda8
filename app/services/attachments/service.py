"""The attachments use cases (SPEC §12): store an upload, and open one for a download.

An upload is checked (membership, sniffed kind in `ATTACHMENT_TYPES`), images re-encoded off the
event loop, then its row is committed and its bytes stored (and on any failure both removed), so
that the answer comes only once the stored bytes exist. A row whose bytes never arrived (a
crash in between) is unsent, and the orphan clean-up removes it with whatever was stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from app.db.session import Database
from app.errors import (
    AppError,
    NotFound,
    PermissionDenied,
    Unauthorized,
    UnsupportedMediaType,
    UpstreamUnavailable,
)
from app.metrics import ATTACHMENT_REFUSED, ATTACHMENT_UPLOAD_BYTES, ATTACHMENT_UPLOADS
from app.models import Attachment, User
from app.repositories.attachment_repository import AttachmentRepository
from app.repositories.group_member_repository import GroupMemberRepository
from app.repositories.group_repository import GroupRepository
from app.services.attachments.images import (
    THUMBNAIL_MIME,
    NotAnImage,
    ProcessedImage,
    image_for_ai,
    process_image,
)
from app.services.attachments.receive import (
    ReceivedUpload,
    TooLarge,
    receive_upload,
    too_large_message,
)
from app.services.attachments.signing import UrlSigner, Variant
from app.services.attachments.sniff import Kind, sniff_file
from app.services.core.permissions import require_member
from app.storage import ObjectMissing, Storage
from app.utils.id_generator import generate_attachment_id

logger = logging.getLogger(__name__)

HASH_CHUNK = 1024 * 1024
AI_IMAGES_AT_ONCE = 4
FORM_OVERHEAD_BYTES = 64 * 1024
"""What a form may carry beyond its file (boundaries, headers, `group_id`)."""


def thumbnail_key(attachment_id: str) -> str:
    return f"{attachment_id}.thumb"


def storage_key(attachment_id: str, variant: Variant) -> str:
    return attachment_id if variant == "content" else thumbnail_key(attachment_id)


class AttachmentService:
    def __init__(
        self,
        db: Database,
        storage: Storage,
        signer: UrlSigner,
        *,
        allowed_types: frozenset[str],
        max_bytes: int,
        spool_dir: str | None = None,
    ) -> None:
        self.db = db
        self.storage = storage
        self.signer = signer
        self.allowed_types = allowed_types
        self.max_bytes = max_bytes
        self.spool_dir = spool_dir
        self._ai_images = asyncio.Semaphore(AI_IMAGES_AT_ONCE)

    async def receive(
        self,
        uploader: User,
        content_type: str | None,
        content_length: str | None,
        body: AsyncIterator[bytes],
    ) -> ReceivedUpload:
        """Read an upload's form into a temporary file, refusing it (413) as soon as the file
        passes the limit — at once when the declared length already does — and (403/404) as
        soon as its `group_id` shows the uploader is not a member."""
        try:
            declared = int(content_length) if content_length and content_length.isdigit() else 0
            if declared > self.max_bytes + FORM_OVERHEAD_BYTES:
                raise TooLarge(too_large_message(self.max_bytes))
            return await receive_upload(
                content_type,
                body,
                max_bytes=self.max_bytes,
                spool_dir=self.spool_dir,
                check_group=lambda group_id: self.require_member(uploader, group_id),
            )
        except AppError as refusal:
            refused(refusal)
            raise

    async def require_member(self, user: User, group_id: str) -> None:
        async with self.db.read() as session:
            await require_member(
                GroupRepository(session), GroupMemberRepository(session), group_id, user.user_id
            )

    async def store(self, uploader: User, upload: ReceivedUpload) -> Attachment:
        """Store a received upload (its temporary file is removed in every case). Raises
        NotFound / PermissionDenied (group), UnsupportedMediaType."""
        try:
            await self.require_member(uploader, upload.group_id)
            kind = await asyncio.to_thread(sniff_file, upload.path)
            if kind is None or kind.name not in self.allowed_types:
                raise UnsupportedMediaType(
                    "This type of file is not accepted (allowed: "
                    + ", ".join(sorted(self.allowed_types))
                    + ")"
                )
            if kind.is_image:
                return await self._store_image(uploader, upload, kind)
            return await self._store_file(uploader, upload, kind, upload.path)
        except AppError as refusal:
            refused(refusal)
            raise
        finally:
            upload.discard()

    async def _store_image(self, uploader: User, upload: ReceivedUpload, kind: Kind) -> Attachment:
        work = asyncio.ensure_future(
            asyncio.to_thread(process_image, upload.path, kind, self.spool_dir)
        )
        try:
            # Shielded: a thread cannot be stopped, so an abandoned upload (the client went
            # away) lets it finish and removes what it wrote.
            image = await asyncio.shield(work)
        except asyncio.CancelledError:
            work.add_done_callback(_discard_late_image)
            raise
        except NotAnImage as exc:
            raise UnsupportedMediaType(
                f"The file claims to be {kind.name} but does not decode as one"
            ) from exc
        try:
            return await self._store_file(
                uploader,
                upload,
                Kind(kind.name, image.mime),
                image.path,
                dimensions=(image.width, image.height),
                thumbnail=image.thumbnail,
            )
        finally:
            image.discard()

    async def _store_file(
        self,
        uploader: User,
        upload: ReceivedUpload,
        kind: Kind,
        path: Path,
        *,
        dimensions: tuple[int, int] | None = None,
        thumbnail: Path | None = None,
    ) -> Attachment:
        size, sha256 = await asyncio.to_thread(_measure, path)
        thumbnail_size = (
            (await asyncio.to_thread(_measure, thumbnail))[0] if thumbnail is not None else None
        )
        attachment = Attachment(
            attachment_id=generate_attachment_id(),
            group_id=upload.group_id,
            uploader_id=uploader.user_id,
            name=upload.name,
            mime=kind.mime,
            size=size,
            sha256=sha256,
            width=dimensions[0] if dimensions else None,
            height=dimensions[1] if dimensions else None,
            thumbnail_mime=THUMBNAIL_MIME if thumbnail is not None else None,
            thumbnail_size=thumbnail_size,
        )
        async with self.db.write() as session, session.begin():
            await AttachmentRepository(session).add(attachment)
        try:
            await self.storage.put(attachment.attachment_id, path, kind.mime)
            if thumbnail is not None:
                await self.storage.put(
                    thumbnail_key(attachment.attachment_id), thumbnail, THUMBNAIL_MIME
                )
        except Exception as exc:
            await self._remove(attachment.attachment_id)
            logger.warning("storing %s failed: %r", attachment.attachment_id, exc)
            raise _storage_unavailable() from exc
        except BaseException:  # cancelled (the client went away): undo, then go on cancelling
            await asyncio.shield(self._remove(attachment.attachment_id))
            raise
        logger.info(
            "attachment %s stored (%s, %d bytes)", attachment.attachment_id, kind.name, size
        )
        ATTACHMENT_UPLOADS.labels(kind.name).inc()
        ATTACHMENT_UPLOAD_BYTES.inc(size)
        return attachment

    async def _remove(self, attachment_id: str) -> None:
        """Undo a store that failed half-way: the row first (it can no longer be sent), then
        the bytes."""
        try:
            async with self.db.write() as session, session.begin():
                await AttachmentRepository(session).delete_unsent(attachment_id)
            await remove_objects(self.storage, attachment_id)
        except Exception:
            logger.exception("could not undo the upload of %s (the clean-up will)", attachment_id)

    async def open(
        self,
        attachment_id: str,
        variant: Variant,
        *,
        reader: User | None,
        signature: tuple[int, str] | None,
    ) -> Attachment:
        """The attachment if the caller may read it: a valid signature for this variant, or a
        member's Bearer token. Raises Forbidden / Unauthorized / NotFound."""
        if signature is not None:
            if not self.signer.verify(attachment_id, variant, *signature):
                raise PermissionDenied(
                    "The link is invalid or has expired", code="INVALID_SIGNATURE"
                )
        elif reader is None:
            raise _unauthorized()
        async with self.db.read() as session:
            repository = AttachmentRepository(session)
            attachment = await repository.get(attachment_id)
            if attachment is None:
                raise _not_found(attachment_id)
            if signature is None and reader is not None:
                await require_member(
                    GroupRepository(session),
                    GroupMemberRepository(session),
                    attachment.group_id,
                    reader.user_id,
                )
            recalled = attachment.message_id is not None and await repository.is_recalled(
                attachment.message_id
            )
        if recalled or (variant == "thumbnail" and attachment.thumbnail_mime is None):
            raise _not_found(attachment_id)
        return attachment

    async def image_for_ai(self, attachment_id: str, size: int) -> bytes | None:
        """A stored image, downscaled to a JPEG for a vision model (SPEC §12, AI_VISION); None
        if it cannot be read (the caller falls back to the signed URL). A few at a time: each
        holds the stored image in memory while it is scaled."""
        async with self._ai_images:
            try:
                chunks = await self.storage.read(attachment_id, 0, size - 1)
                data = b"".join([chunk async for chunk in chunks])
                return await asyncio.to_thread(image_for_ai, data)
            except Exception as exc:
                logger.warning("could not prepare %s for the AI: %r", attachment_id, exc)
                return None

    async def read(
        self, attachment: Attachment, variant: Variant, start: int, end: int
    ) -> AsyncIterator[bytes]:
        """Bytes `start`..`end` of the stored object, streamed. Raises NotFound if the bytes
        are gone."""
        try:
            key = storage_key(attachment.attachment_id, variant)
            return await self.storage.read(key, start, end)
        except ObjectMissing as exc:
            raise _not_found(attachment.attachment_id) from exc
        except Exception as exc:
            logger.warning("reading %s failed: %r", attachment.attachment_id, exc)
            raise _storage_unavailable() from exc


async def remove_objects(storage: Storage, attachment_id: str) -> None:
    await storage.delete(attachment_id)
    await storage.delete(thumbnail_key(attachment_id))


def _discard_late_image(work: asyncio.Future[ProcessedImage]) -> None:
    if not work.cancelled() and work.exception() is None:
        work.result().discard()


def refused(refusal: AppError) -> None:
    ATTACHMENT_REFUSED.labels(refusal.code.lower()).inc()


def _measure(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _unauthorized() -> AppError:
    return Unauthorized(
        "A signed link or a member's Bearer token is needed", code="NOT_AUTHENTICATED"
    )


def _storage_unavailable() -> AppError:
    return UpstreamUnavailable(
        "The file store is unavailable; retry shortly", code="STORAGE_UNAVAILABLE"
    )


def _not_found(attachment_id: str) -> AppError:
    return NotFound(f"Attachment {attachment_id} not found", code="ATTACHMENT_NOT_FOUND")
