"""Web Push subscriptions: checking what a browser sends, and the table's queries."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.models import PushSubscription
from app.notifications.upsert import upsert

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
P256_POINT_BYTES = 65
AUTH_SECRET_BYTES = 16


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str

    def info(self) -> dict[str, object]:
        """As pywebpush takes it (the browser's `PushSubscription.toJSON()`)."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


def b64url_decode(value: str) -> bytes:
    """Base64url with or without padding; ValueError for anything else."""
    if not value or any(c in value for c in "+/ \n"):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def check_endpoint(endpoint: str) -> str:
    """https, or http to a loopback host (a push service on this machine, as in tests)."""
    parts = urlsplit(endpoint)
    if parts.scheme == "https" and parts.hostname:
        return endpoint
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return endpoint
    raise ValueError("must be an https:// URL (http:// only for localhost)")


def check_p256dh(value: str) -> str:
    """The browser's ECDH key: an uncompressed point on P-256 (65 bytes), base64url."""
    raw = b64url_decode(value)
    if len(raw) != P256_POINT_BYTES or raw[0] != 4:
        raise ValueError("must be a 65-byte uncompressed P-256 point, base64url")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:
        raise ValueError("is not a point on the P-256 curve") from exc
    return value


def check_auth(value: str) -> str:
    if len(b64url_decode(value)) != AUTH_SECRET_BYTES:
        raise ValueError("must be a 16-byte secret, base64url")
    return value


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


class PushSubscriptionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save(self, user_id: str, subscription: Subscription) -> None:
        """Insert, or take over the endpoint (a browser re-subscribing, perhaps for another
        user who signed in on it: the endpoint belongs to whoever registered it last)."""
        now = utcnow()
        values = {
            "user_id": user_id,
            "endpoint": subscription.endpoint,
            "endpoint_hash": endpoint_hash(subscription.endpoint),
            "p256dh": subscription.p256dh,
            "auth": subscription.auth,
            "created_at": now,
            "updated_at": now,
        }
        await upsert(
            self.session,
            PushSubscription,
            values,
            key=["endpoint_hash"],
            update=["user_id", "p256dh", "auth", "updated_at"],
        )

    async def remove(self, endpoint: str, user_id: str | None = None) -> bool:
        query = delete(PushSubscription).where(
            PushSubscription.endpoint_hash == endpoint_hash(endpoint)
        )
        if user_id is not None:
            query = query.where(PushSubscription.user_id == user_id)
        result = await self.session.execute(query)
        return bool(getattr(result, "rowcount", 0))

    async def of_users(self, user_ids: Iterable[str]) -> dict[str, list[Subscription]]:
        rows = await self.session.execute(
            select(
                PushSubscription.user_id,
                PushSubscription.endpoint,
                PushSubscription.p256dh,
                PushSubscription.auth,
            ).where(PushSubscription.user_id.in_(list(user_ids)))
        )
        found: dict[str, list[Subscription]] = {}
        for row in rows:
            found.setdefault(row.user_id, []).append(
                Subscription(row.endpoint, row.p256dh, row.auth)
            )
        return found
