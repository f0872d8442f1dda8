"""Uploading and sending attachments over HTTP, as a client does."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import TestUser


async def upload(
    client: httpx.AsyncClient,
    user: TestUser,
    group_id: str,
    data: bytes,
    name: str = "photo.jpg",
    content_type: str = "application/octet-stream",
) -> httpx.Response:
    return await client.post(
        "/api/attachments",
        data={"group_id": group_id},
        files={"file": (name, data, content_type)},
        headers=user.headers,
    )


async def upload_ok(
    client: httpx.AsyncClient, user: TestUser, group_id: str, data: bytes, name: str = "a.jpg"
) -> dict[str, Any]:
    response = await upload(client, user, group_id, data, name)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def send_attachment(
    client: httpx.AsyncClient,
    user: TestUser,
    group_id: str,
    attachment_id: str,
    content: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"group_id": group_id, "attachment_id": attachment_id}
    if content is not None:
        body["content"] = content
    return await client.post("/api/message/send", json=body, headers=user.headers)
