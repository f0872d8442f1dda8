"""Attachments (SPEC §12): upload (multipart, streamed), and download the content or an image's
thumbnail with a signed link or a member's Bearer token (Range, RFC 6266 names)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from starlette.requests import ClientDisconnect

from app.api.deps import AttachmentServiceDep, BearerDep, CurrentUser, UserServiceDep
from app.api.responses import errors
from app.errors import InvalidInput, PermissionDenied, RangeNotSatisfiable
from app.models import Attachment
from app.schemas.attachment import AttachmentResponse
from app.schemas.common import IdPath
from app.services.attachments.signing import Variant
from app.utils.http_ranges import Unsatisfiable, content_disposition, parse_range

router = APIRouter(prefix="/attachments", tags=["attachments"])

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "group_id"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "group_id": {"type": "string"},
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AttachmentResponse,
    responses=errors(401, 403, 404, 413, 415, 422, 503),
    openapi_extra=UPLOAD_BODY,
    summary="Upload a file to a group (multipart: file, group_id)",
)
async def upload(
    request: Request, user: CurrentUser, attachments: AttachmentServiceDep
) -> AttachmentResponse:
    received = await attachments.receive(
        user,
        request.headers.get("content-type"),
        request.headers.get("content-length"),
        _body(request),
    )
    stored = await attachments.store(user, received)
    return AttachmentResponse.model_validate(stored)


async def _body(request: Request) -> AsyncIterator[bytes]:
    """The request body as it arrives; a client that goes away mid-upload ends it with a
    clear refusal (the service then removes what it had written)."""
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect as exc:
        raise InvalidInput(
            "The upload was interrupted", code="UPLOAD_INTERRUPTED", http_status=400
        ) from exc


async def _download(variant: Variant, attachment_id: str, download: Download) -> Response:
    attachments, exp, sig = download.attachments, download.exp, download.sig
    signature: tuple[int, str] | None = None
    if exp is not None or sig is not None:
        if exp is None or sig is None:
            raise PermissionDenied("The link is incomplete", code="INVALID_SIGNATURE")
        signature = (exp, sig)
    reader = None
    if signature is None and download.credentials is not None:
        reader = (await download.users.authenticate(download.credentials.credentials)).user
    attachment = await attachments.open(attachment_id, variant, reader=reader, signature=signature)
    mime, size = _object_of(attachment, variant)
    max_age = (exp - int(time.time())) if exp is not None else attachments.signer.ttl_seconds
    caching = {
        "Cache-Control": f"private, max-age={max(max_age, 0)}",
        "ETag": f'"{attachment.sha256}{"-t" if variant == "thumbnail" else ""}"',
    }
    if download.if_none_match is not None and _matches(download.if_none_match, caching["ETag"]):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=caching)
    try:
        wanted = parse_range(download.range_header, size)
    except Unsatisfiable as exc:
        raise RangeNotSatisfiable(
            f"The range is outside the file ({size} bytes)",
            details={"size": size},
        ) from exc
    start, end = wanted if wanted is not None else (0, size - 1)
    chunks = await attachments.read(attachment, variant, start, end)
    headers = {
        **caching,
        "Content-Length": str(end - start + 1),
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": _disposition(attachment, variant),
    }
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return StreamingResponse(
        chunks,
        status_code=status.HTTP_206_PARTIAL_CONTENT if wanted else status.HTTP_200_OK,
        media_type=mime,
        headers=headers,
    )


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 §13.1.2: `*`, or any of the listed tags (weak comparison)."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _object_of(attachment: Attachment, variant: Variant) -> tuple[str, int]:
    if variant == "thumbnail":
        return attachment.thumbnail_mime or "", attachment.thumbnail_size or 0
    return attachment.mime, attachment.size


def _disposition(attachment: Attachment, variant: Variant) -> str:
    if variant == "thumbnail":
        return content_disposition("inline", f"thumbnail-{attachment.name}")
    inline = attachment.mime.startswith("image/")
    return content_disposition("inline" if inline else "attachment", attachment.name)


SignedExp = Annotated[int | None, Query(ge=0, le=2**62)]
SignedSig = Annotated[str | None, Query(max_length=128)]
RangeHeader = Annotated[str | None, Header(alias="Range")]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]
DOWNLOAD_ERRORS = errors(401, 403, 404, 416)


@dataclass
class Download:
    """What both download routes take: the services, the caller's credentials (a signed link,
    or a member's Bearer token) and the conditional and partial request headers."""

    attachments: AttachmentServiceDep
    users: UserServiceDep
    credentials: BearerDep
    exp: SignedExp = None
    sig: SignedSig = None
    range_header: RangeHeader = None
    if_none_match: IfNoneMatch = None


DownloadDep = Annotated[Download, Depends()]


@router.get("/{attachment_id}/content", responses=DOWNLOAD_ERRORS, response_class=StreamingResponse)
async def download_content(attachment_id: IdPath, download: DownloadDep) -> Response:
    """The file as stored (a signed link, or a member's Bearer token)."""
    return await _download("content", attachment_id, download)


@router.get(
    "/{attachment_id}/thumbnail", responses=DOWNLOAD_ERRORS, response_class=StreamingResponse
)
async def download_thumbnail(attachment_id: IdPath, download: DownloadDep) -> Response:
    """An image's thumbnail (WebP, longest side 320 px)."""
    return await _download("thumbnail", attachment_id, download)
