"""Helpers for tests of the message model (SPEC §11): edits, recalls and revisions through the
HTTP API, the log as a client reads it, and backdating a message to test the time windows
without waiting."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from app.db.base import utcnow
from app.models import Message
from tests.factories import SERVICE_HEADERS, TestUser, list_messages


async def edit(
    client: httpx.AsyncClient, user: TestUser, message_id: str, content: str
) -> httpx.Response:
    return await client.patch(
        f"/api/message/{message_id}", json={"content": content}, headers=user.headers
    )


async def recall(client: httpx.AsyncClient, user: TestUser, message_id: str) -> httpx.Response:
    return await client.post(f"/api/message/{message_id}/recall", headers=user.headers)


async def revisions(
    client: httpx.AsyncClient, message_id: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.get(
        f"/api/message/{message_id}/revisions",
        headers=SERVICE_HEADERS if headers is None else headers,
    )


async def get_message(client: httpx.AsyncClient, user: TestUser, message_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/message/{message_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def log(client: httpx.AsyncClient, user: TestUser, group_id: str) -> list[dict[str, Any]]:
    """The group's whole log, oldest first (cursor form)."""
    response = await list_messages(client, user, group_id, after_seq=0, limit=200)
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def backdate(app: FastAPI, message_id: str, minutes: float) -> None:
    """Make the message `minutes` old, as if it had been sent that long ago."""
    engine = app.state.server.core.db.engine
    async with engine.begin() as connection:
        await connection.execute(
            update(Message)
            .where(Message.message_id == message_id)
            .values(created_at=utcnow() - timedelta(minutes=minutes))
        )


def apply_entry(held: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """What a client does with an EDIT or RECALL entry for a message it holds."""
    assert entry["target_message_id"] == held["message_id"]
    if entry["msg_type"] == "RECALL":
        return {**held, "msg_content": "", "attachment": None, "recalled_at": entry["created_at"]}
    assert entry["msg_type"] == "EDIT"
    return {**held, "msg_content": entry["msg_content"], "edited_at": entry["created_at"]}
