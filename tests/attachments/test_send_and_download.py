"""Sending attachments (IMAGE / FILE, one message per attachment) and downloading them with
signed links or a member's Bearer token: headers, Range, names in any language (SPEC §12)."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from tests.attachments import files
from tests.attachments.helpers import send_attachment, upload_ok
from tests.factories import (
    Consultation,
    add_member,
    assert_error,
    consultation,
    create_group,
    create_user,
    list_messages,
)


@pytest.fixture
async def room(client: httpx.AsyncClient) -> Consultation:
    return await consultation(client)


async def sent(
    client: httpx.AsyncClient, room: Consultation, data: bytes, name: str, caption: str | None
) -> dict[str, Any]:
    uploaded = await upload_ok(client, room.patient, room.group_id, data, name)
    response = await send_attachment(
        client, room.patient, room.group_id, uploaded["attachment_id"], caption
    )
    assert response.status_code == 201, response.text
    message: dict[str, Any] = response.json()
    return message


async def test_an_image_is_sent_with_caption_and_served_with_signed_links(
    client: httpx.AsyncClient, room: Consultation
) -> None:
    message = await sent(client, room, files.image_bytes("JPEG"), "rash.jpg", "看这里的红疹")
    assert message["msg_type"] == "IMAGE"
    assert message["msg_content"] == "看这里的红疹"
    attachment = message["attachment"]
    assert set(attachment) == {
        "attachment_id",
        "name",
        "mime",
        "size",
        "width",
        "height",
        "url",
        "thumbnail_url",
    }
    assert (attachment["name"], attachment["mime"]) == ("rash.jpg", "image/jpeg")
    assert (attachment["width"], attachment["height"]) == (800, 600)
    # Signed links work without any header (an <img src>).
    image = await client.get(attachment["url"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/jpeg"
    assert image.headers["content-disposition"].startswith("inline;")
    assert image.headers["x-content-type-options"] == "nosniff"
    assert image.headers["cache-control"].startswith("private, max-age=")
    assert int(image.headers["content-length"]) == attachment["size"] == len(image.content)
    thumbnail = await client.get(attachment["thumbnail_url"])
    assert thumbnail.status_code == 200
    assert files.size_of(thumbnail.content) == (320, 240)


async def test_a_file_is_sent_without_caption_and_read_back_everywhere(
    client: httpx.AsyncClient, room: Consultation
) -> None:
    message = await sent(client, room, files.PDF, "血常规 report.pdf", None)
    assert message["msg_type"] == "FILE"
    assert message["msg_content"] == ""
    attachment = message["attachment"]
    assert set(attachment) == {"attachment_id", "name", "mime", "size", "url"}
    page = (await list_messages(client, room.doctor, room.group_id)).json()["messages"]
    read = next(m for m in page if m["message_id"] == message["message_id"])
    assert read["attachment"]["attachment_id"] == attachment["attachment_id"]
    cursor = await client.get(
        "/api/message/list",
        params={"group_id": room.group_id, "after_seq": 0},
        headers=room.doctor.headers,
    )
    assert cursor.json()["messages"][-1]["attachment"]["name"] == "血常规 report.pdf"
    one = await client.get(f"/api/message/{message['message_id']}", headers=room.doctor.headers)
    downloaded = await client.get(one.json()["attachment"]["url"])
    assert downloaded.content == files.PDF
    assert downloaded.headers["content-type"] == "application/pdf"
    assert downloaded.headers["content-disposition"] == (
        "attachment; filename=\"___ report.pdf\"; filename*=UTF-8''"
        + quote("血常规 report.pdf", safe="")
    )


async def test_links_are_signed_per_response_not_stored(
    client: httpx.AsyncClient, app: FastAPI, room: Consultation
) -> None:
    message = await sent(client, room, files.PDF, "a.pdf", None)
    async with app.state.server.core.db.read() as session:
        from app.repositories.message_repository import MessageRepository

        stored = await MessageRepository(session).get_by_id(message["message_id"])
    assert stored is not None and stored.attachment is not None
    assert "url" not in stored.attachment
    assert set(stored.attachment) == {"attachment_id", "name", "mime", "size"}


@pytest.mark.parametrize(
    "name", ["化验单 2026年11月.pdf", "😀 smile & x=1; ok's.pdf", "100% ok,;.pdf"]
)
async def test_names_in_any_language_in_content_disposition(
    client: httpx.AsyncClient, room: Consultation, name: str
) -> None:
    uploaded = await upload_ok(client, room.patient, room.group_id, files.PDF, name)
    response = await client.get(
        f"/api/attachments/{uploaded['attachment_id']}/content", headers=room.doctor.headers
    )
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    from urllib.parse import unquote

    assert unquote(encoded) == name
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii() and '"' not in fallback


async def test_expired_and_tampered_links_are_403(
    client: httpx.AsyncClient, app: FastAPI, room: Consultation
) -> None:
    message = await sent(client, room, files.image_bytes("PNG"), "a.png", None)
    url = urlsplit(message["attachment"]["url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    attachment_id = message["attachment"]["attachment_id"]

    async def get(path: str, **params: Any) -> httpx.Response:
        return await client.get(path, params=params)

    assert (await get(url.path, **query)).status_code == 200
    assert_error(
        await get(url.path, exp=int(query["exp"]) + 60, sig=query["sig"]), 403, "INVALID_SIGNATURE"
    )
    assert_error(await get(url.path, exp=query["exp"], sig=query["sig"][:-2] + "AA"), 403)
    assert_error(await get(url.path, exp=query["exp"]), 403, "INVALID_SIGNATURE")
    # The content's signature does not open the thumbnail.
    assert_error(
        await get(f"/api/attachments/{attachment_id}/thumbnail", **query), 403, "INVALID_SIGNATURE"
    )
    signer = app.state.server.attachments.signer
    old = signer.sign(attachment_id, "content", now=time.time() - signer.ttl_seconds - 5)
    assert_error(await get(url.path, exp=old.exp, sig=old.sig), 403, "INVALID_SIGNATURE")
    assert_error(await client.get(url.path), 401, "NOT_AUTHENTICATED")


async def test_bearer_of_a_member_works_and_of_a_stranger_is_403(
    client: httpx.AsyncClient, room: Consultation
) -> None:
    uploaded = await upload_ok(client, room.patient, room.group_id, files.PDF, "a.pdf")
    path = f"/api/attachments/{uploaded['attachment_id']}/content"
    assert (await client.get(path, headers=room.doctor.headers)).status_code == 200
    other_doctor = await create_user(client, "DOCTOR")
    await create_group(client, other_doctor)
    assert_error(await client.get(path, headers=other_doctor.headers), 403, "NOT_A_MEMBER")
    bad_token = {"Authorization": "Bearer not-a-token"}
    assert (await client.get(path, headers=bad_token)).status_code == 401
    assert_error(
        await client.get("/api/attachments/att_missing/content", headers=room.doctor.headers),
        404,
        "ATTACHMENT_NOT_FOUND",
    )
    assert_error(
        await client.get(
            f"/api/attachments/{uploaded['attachment_id']}/thumbnail", headers=room.doctor.headers
        ),
        404,
        "ATTACHMENT_NOT_FOUND",
    )


@pytest.mark.parametrize(
    ("header", "status", "part"),
    [
        ("bytes=0-9", 206, slice(0, 10)),
        ("bytes=10-", 206, slice(10, None)),
        ("bytes=-7", 206, slice(-7, None)),
        ("bytes=5-100000", 206, slice(5, None)),
        ("bytes=0-1,5-6", 200, slice(None)),
        ("lines=1-2", 200, slice(None)),
    ],
)
async def test_range_requests(
    client: httpx.AsyncClient, room: Consultation, header: str, status: int, part: slice
) -> None:
    uploaded = await upload_ok(client, room.patient, room.group_id, files.TEXT, "n.txt")
    response = await client.get(
        f"/api/attachments/{uploaded['attachment_id']}/content",
        headers={**room.patient.headers, "Range": header},
    )
    assert response.status_code == status
    assert response.content == files.TEXT[part]
    assert response.headers["accept-ranges"] == "bytes"
    assert int(response.headers["content-length"]) == len(files.TEXT[part])
    if status == 206:
        start = len(files.TEXT) - len(files.TEXT[part]) if header.startswith("bytes=-") else None
        first = start if start is not None else int(header[6:].split("-")[0])
        last = first + len(files.TEXT[part]) - 1
        assert response.headers["content-range"] == f"bytes {first}-{last}/{len(files.TEXT)}"


@pytest.mark.parametrize("header", ["bytes=100000-", "bytes=-0", "bytes=9-3"])
async def test_unsatisfiable_range_is_416(
    client: httpx.AsyncClient, room: Consultation, header: str
) -> None:
    uploaded = await upload_ok(client, room.patient, room.group_id, files.TEXT, "n.txt")
    response = await client.get(
        f"/api/attachments/{uploaded['attachment_id']}/content",
        headers={**room.patient.headers, "Range": header},
    )
    assert_error(response, 416, "RANGE_NOT_SATISFIABLE")


async def test_attachment_of_another_group_or_already_used_is_422(
    client: httpx.AsyncClient, room: Consultation
) -> None:
    other = await create_group(client, room.doctor)
    await add_member(client, room.doctor, other["group_id"], room.patient)
    elsewhere = await upload_ok(client, room.patient, other["group_id"], files.PDF, "a.pdf")
    response = await send_attachment(
        client, room.patient, room.group_id, elsewhere["attachment_id"]
    )
    assert_error(response, 422, "INVALID_ATTACHMENT")
    mine = await upload_ok(client, room.patient, room.group_id, files.PDF, "b.pdf")
    first = await send_attachment(client, room.patient, room.group_id, mine["attachment_id"])
    assert first.status_code == 201
    again = await send_attachment(client, room.patient, room.group_id, mine["attachment_id"])
    assert_error(again, 422, "INVALID_ATTACHMENT")
    unknown = await send_attachment(client, room.patient, room.group_id, "att_unknown")
    assert_error(unknown, 422, "INVALID_ATTACHMENT")
    empty = await client.post(
        "/api/message/send", json={"group_id": room.group_id}, headers=room.patient.headers
    )
    assert_error(empty, 422, "VALIDATION_ERROR")


async def test_concurrent_sends_of_one_attachment_make_one_message(
    client: httpx.AsyncClient, room: Consultation
) -> None:
    uploaded = await upload_ok(client, room.patient, room.group_id, files.PDF, "a.pdf")
    responses = await asyncio.gather(
        *(
            send_attachment(client, room.patient, room.group_id, uploaded["attachment_id"], f"#{i}")
            for i in range(8)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [422] * 7
    page = (await list_messages(client, room.doctor, room.group_id)).json()["messages"]
    carrying = [m for m in page if m["attachment"] is not None]
    assert len(carrying) == 1


async def test_a_recalled_message_drops_its_attachment(
    client: httpx.AsyncClient, room: Consultation
) -> None:
    message = await sent(client, room, files.image_bytes("JPEG"), "a.jpg", None)
    url = message["attachment"]["url"]
    recall = await client.post(
        f"/api/message/{message['message_id']}/recall", headers=room.doctor.headers
    )
    assert recall.status_code == 200, recall.text
    assert recall.json()["attachment"] is None
    assert_error(await client.get(url), 404, "ATTACHMENT_NOT_FOUND")
    page = (await list_messages(client, room.doctor, room.group_id)).json()["messages"]
    assert next(m for m in page if m["message_id"] == message["message_id"])["attachment"] is None


async def test_group_list_last_message_carries_signed_links(
    client: httpx.AsyncClient, room: Consultation
) -> None:
    await sent(client, room, files.image_bytes("JPEG"), "a.jpg", None)
    groups = (await client.get("/api/group/list", headers=room.doctor.headers)).json()
    listed = groups["groups"] if isinstance(groups, dict) else groups
    [summary] = [g for g in listed if g["group_id"] == room.group_id]
    attachment = summary["last_message"]["attachment"]
    assert (await client.get(attachment["thumbnail_url"])).status_code == 200


async def test_a_retried_send_of_an_attachment_is_a_replay_not_a_refusal(
    client: httpx.AsyncClient, room: Consultation
) -> None:
    """The web client's outbox resends with the same client_msg_id after a lost answer."""
    uploaded = await upload_ok(client, room.patient, room.group_id, files.PDF, "a.pdf")
    body = {
        "group_id": room.group_id,
        "attachment_id": uploaded["attachment_id"],
        "client_msg_id": "outbox-1",
    }
    first = await client.post("/api/message/send", json=body, headers=room.patient.headers)
    again = await client.post("/api/message/send", json=body, headers=room.patient.headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["message_id"] == first.json()["message_id"]
    assert again.json()["attachment"]["url"].startswith("/api/attachments/")


async def test_a_cached_copy_is_revalidated_with_its_etag(
    client: httpx.AsyncClient, room: Consultation
) -> None:
    message = await sent(client, room, files.image_bytes("PNG"), "a.png", None)
    for key in ("url", "thumbnail_url"):
        url = message["attachment"][key]
        first = await client.get(url)
        etag = first.headers["etag"]
        again = await client.get(url, headers={"If-None-Match": f'"other", W/{etag}'})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"].startswith("private, max-age=")
        changed = await client.get(url, headers={"If-None-Match": '"other"'})
        assert changed.status_code == 200 and changed.content == first.content
    # Revalidation does not bypass access: a bad signature is still 403.
    path = message["attachment"]["url"].split("?")[0]
    bad = await client.get(
        path, params={"exp": 9_999_999_999, "sig": "x"}, headers={"If-None-Match": "*"}
    )
    assert_error(bad, 403, "INVALID_SIGNATURE")
