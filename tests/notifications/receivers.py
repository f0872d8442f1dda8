"""Loopback stand-ins for the far ends of notifications, real HTTP servers on 127.0.0.1
(uvicorn, port 0):

- `WebhookReceiver`: a hospital back end. It verifies every request's signature with the
  `standardwebhooks` package, exactly as a receiver would, and records the bodies. Tests queue
  how it answers the next requests (`then`): a status, a hang (until released or the client
  leaves), a huge body, or a slow trickle.
- `PushService`: a Web Push service (RFC 8030). It checks the VAPID JWT (ES256, `aud` the
  endpoint's origin) and decrypts the RFC 8291 `aes128gcm` payload with the subscriber's
  private key (`http_ece`), and answers each endpoint as the test says (201, or 410: gone).
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import http_ece
import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.types import Receive, Scope, Send

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"stand-in webhook signing key 32b").decode()


class LoopbackServer(ABC):
    """An ASGI app served by uvicorn on a free loopback port, in the test's event loop."""

    def __init__(self) -> None:
        self.server: uvicorn.Server | None = None
        self.port = 0
        self._task: asyncio.Task[None] | None = None
        self.release = asyncio.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> None:
        config = uvicorn.Config(self, host="127.0.0.1", port=port, log_config=None, lifespan="off")
        self.server = uvicorn.Server(config)
        self._task = asyncio.create_task(self.server.serve())
        async with asyncio.timeout(10):
            while not self.server.started:
                if self._task.done():
                    self._task.result()
                await asyncio.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.release.set()
        if self.server is not None and self._task is not None:
            self.server.should_exit = True
            await asyncio.wait_for(self._task, timeout=10)

    @abstractmethod
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The stand-in's own HTTP behaviour."""


async def read_body(receive: Receive) -> bytes:
    raw = b""
    while True:
        message = await receive()
        raw += bytes(message.get("body", b""))
        if not message.get("more_body"):
            return raw


async def respond(send: Send, status: int, body: bytes = b"") -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Delivery:
    """One request the receiver verified."""

    webhook_id: str
    body: dict[str, Any]
    answered: int


@dataclass
class Answer:
    """`status`, or `hang` (no answer until released), `huge` (an endless body), `trickle`
    (one byte per `delay` seconds)."""

    kind: str = "status"
    status: int = 200
    delay: float = 0.0


class WebhookReceiver(LoopbackServer):
    def __init__(self, secret: str = WEBHOOK_SECRET) -> None:
        super().__init__()
        self.verifier = Webhook(secret)
        self.queue: deque[Answer] = deque()
        self.default = Answer()
        """How requests are answered once the queue is empty."""
        self.deliveries: list[Delivery] = []
        self.bad_signatures = 0
        self.requests = 0
        self.huge_bytes_sent = 0
        self.arrived = asyncio.Event()
        """Set when a delivery is accepted."""
        self.requested = asyncio.Event()
        """Set when a request (any) arrives."""

    @property
    def url(self) -> str:
        return f"{self.base_url}/hooks/im"

    def then(self, kind: str = "status", **kwargs: Any) -> WebhookReceiver:
        self.queue.append(Answer(kind, **kwargs))
        return self

    def accepted(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Bodies answered 2xx, in arrival order (of one type, when given)."""
        return [
            d.body
            for d in self.deliveries
            if 200 <= d.answered < 300 and (event_type is None or d.body["type"] == event_type)
        ]

    async def wait_for(
        self, count: int, event_type: str | None = None, within: float = 10
    ) -> list[dict[str, Any]]:
        async with asyncio.timeout(within):
            while len(self.accepted(event_type)) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.accepted(event_type)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        raw = await read_body(receive)
        self.requests += 1
        self.requested.set()
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        try:
            body = self.verifier.verify(raw, headers)
        except WebhookVerificationError:
            self.bad_signatures += 1
            await respond(send, 400, b"bad signature")
            return
        answer = self.queue.popleft() if self.queue else self.default
        if answer.kind == "hang":
            await self.release.wait()
            return
        if answer.kind == "huge":
            await self._huge(receive, send)
            return
        if answer.kind == "trickle":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            while not self.release.is_set():
                await send({"type": "http.response.body", "body": b".", "more_body": True})
                await asyncio.sleep(answer.delay)
            return
        await respond(send, answer.status, b"ok")
        self.deliveries.append(Delivery(headers["webhook-id"], body, answer.status))
        self.arrived.set()

    async def _huge(self, receive: Receive, send: Send) -> None:
        """An endless body (up to 64 MiB), sent until the client hangs up."""
        hung_up = asyncio.create_task(_disconnected(receive))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        chunk = b"x" * 65536
        try:
            while self.huge_bytes_sent < 64 * 1024 * 1024 and not hung_up.done():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                self.huge_bytes_sent += len(chunk)
                await asyncio.sleep(0)
        finally:
            hung_up.cancel()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


@dataclass
class Subscriber:
    """A browser's push subscription, with the private key only the browser holds."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def new(cls, endpoint: str) -> Subscriber:
        return cls(endpoint, ec.generate_private_key(ec.SECP256R1()), secrets.token_bytes(16))

    def json(self) -> dict[str, Any]:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
        }


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


@dataclass
class Push:
    endpoint: str
    payload: dict[str, Any]
    plaintext: bytes
    claims: dict[str, Any]
    ttl: str


class PushService(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.subscribers: dict[str, Subscriber] = {}
        self.answers: dict[str, int] = {}
        """endpoint → the status to answer (201 when not set; 410: the subscription is gone)."""
        self.pushes: list[Push] = []
        self.rejected: list[str] = []
        self.vapid_public_key = ""
        """The server's key (set by the test from GET /api/push/public-key)."""
        self.arrived = asyncio.Event()

    def subscriber(self, name: str) -> Subscriber:
        sub = Subscriber.new(f"{self.base_url}/push/{name}-{secrets.token_hex(4)}")
        self.subscribers[sub.endpoint] = sub
        return sub

    def to(self, subscriber: Subscriber) -> list[Push]:
        return [p for p in self.pushes if p.endpoint == subscriber.endpoint]

    async def wait_for(self, count: int, within: float = 10) -> list[Push]:
        async with asyncio.timeout(within):
            while len(self.pushes) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.pushes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        raw = await read_body(receive)
        endpoint = f"{self.base_url}{scope['path']}"
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        subscriber = self.subscribers.get(endpoint)
        try:
            assert subscriber is not None, "unknown endpoint"
            claims = self._check_vapid(headers.get("authorization", ""), endpoint)
            assert headers.get("content-encoding") == "aes128gcm"
            plaintext = http_ece.decrypt(
                raw,
                private_key=subscriber.private_key,
                auth_secret=subscriber.auth,
                version="aes128gcm",
            )
        except Exception as exc:
            self.rejected.append(f"{endpoint}: {exc!r}")
            await respond(send, 400, b"rejected")
            self.arrived.set()
            return
        status = self.answers.get(endpoint, 201)
        await respond(send, status)
        if status == 201:
            payload = json.loads(plaintext)
            self.pushes.append(Push(endpoint, payload, plaintext, claims, headers.get("ttl", "")))
        self.arrived.set()

    def _check_vapid(self, authorization: str, endpoint: str) -> dict[str, Any]:
        """`vapid t=<JWT>,k=<public key>` (RFC 8292): the key is the server's, the JWT is
        ES256 by it, for this push service's origin, not expired, with a contact."""
        scheme, _, params = authorization.partition(" ")
        assert scheme == "vapid", authorization
        fields = dict(part.split("=", 1) for part in params.split(","))
        assert fields["k"] == self.vapid_public_key, "not the server's VAPID key"
        point = b64url_decode(fields["k"])
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(endpoint))
        claims: dict[str, Any] = jwt.decode(
            fields["t"],
            key=key,
            algorithms=["ES256"],
            audience=origin,
            options={"require": ["exp", "aud", "sub"]},
        )
        return claims
