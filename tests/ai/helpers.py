"""Waiting for AI records to finish, through the public API."""

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import SERVICE_KEY

FINAL = {"SUCCESS", "FAILED"}


async def records(client: httpx.AsyncClient, group_id: str) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/ai/interactions", params={"group_id": group_id}, headers={"X-API-Key": SERVICE_KEY}
    )
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()["records"]
    return body


async def wait_final(
    client: httpx.AsyncClient, group_id: str, count: int = 1, within: float = 10.0
) -> list[dict[str, Any]]:
    """The group's records once `count` of them are SUCCESS or FAILED (newest first)."""
    async with asyncio.timeout(within):
        while True:
            found = await records(client, group_id)
            if len([r for r in found if r["status"] in FINAL]) >= count:
                return found
            await asyncio.sleep(0.02)


async def messages(client: httpx.AsyncClient, token: str, group_id: str) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/message/list",
        params={"group_id": group_id, "after_seq": 0, "limit": 200},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()["messages"]
    return body


async def eventually(predicate: Callable[[], bool], within: float = 5.0) -> None:
    """Wait (bounded) until `predicate()` holds."""
    async with asyncio.timeout(within):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.02)
