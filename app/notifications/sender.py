"""One webhook attempt: sign the stored body per Standard Webhooks and POST it.

The receiver's answer is read with a cap and the whole attempt with a deadline, so a receiver
that hangs, trickles, or answers a huge body costs one bounded slot of the deliverer and
nothing else.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from standardwebhooks import Webhook

from app.db.base import utcnow

MAX_RESPONSE_BYTES = 64 * 1024
"""Of a receiver's answer, only this much is read (the status is what counts)."""


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status_code: int | None = None
    error: str | None = None


class WebhookSender:
    def __init__(self, url: str, secret: str, timeout: float) -> None:
        self.url = url
        self.signer = Webhook(secret)
        self.timeout = timeout
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
            follow_redirects=False,
        )

    def headers(self, delivery_id: str, body: str) -> dict[str, str]:
        now = utcnow()
        return {
            "content-type": "application/json",
            "webhook-id": delivery_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self.signer.sign(delivery_id, now, body),
        }

    async def send(self, delivery_id: str, body: str) -> Attempt:
        """2xx is delivered; anything else (status, timeout, refused connection) is retried."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._post(delivery_id, body)
        except TimeoutError:
            return Attempt(False, error=f"no answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return Attempt(False, error=f"{type(exc).__name__}: {exc}")

    async def _post(self, delivery_id: str, body: str) -> Attempt:
        request = self.client.build_request(
            "POST", self.url, content=body.encode(), headers=self.headers(delivery_id, body)
        )
        response = await self.client.send(request, stream=True)
        try:
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read >= MAX_RESPONSE_BYTES:
                    break
        finally:
            await response.aclose()
        if response.is_success:
            return Attempt(True, response.status_code)
        return Attempt(False, response.status_code, f"answered {response.status_code}")

    async def aclose(self) -> None:
        await self.client.aclose()
