"""Reading the webhook outbox through the admin routes (service key)."""

import asyncio
from typing import Any

import httpx

from tests.factories import SERVICE_HEADERS


async def deliveries(client: httpx.AsyncClient, status: str | None = None) -> list[dict[str, Any]]:
    params = {"status": status} if status else {}
    response = await client.get(
        "/api/admin/webhook-deliveries", params=params, headers=SERVICE_HEADERS
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["deliveries"]
    return found


async def wait_status(
    client: httpx.AsyncClient, status: str, count: int = 1, within: float = 10
) -> list[dict[str, Any]]:
    """The deliveries with `status` once there are `count` of them."""
    async with asyncio.timeout(within):
        while True:
            found = await deliveries(client, status)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
