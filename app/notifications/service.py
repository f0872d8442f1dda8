"""What the notification routes and `/health` ask of the layer: Web Push subscriptions, the
VAPID public key, the webhook deliveries (admin listing and retry) and the backlog's age."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Literal

from app.db.base import utcnow
from app.db.session import Database
from app.errors import Conflict, NotFound
from app.models import WebhookDelivery
from app.models.webhook_delivery import DeliveryStatus
from app.notifications.outbox import WebhookOutbox
from app.notifications.subscriptions import PushSubscriptionRepository, Subscription
from app.notifications.transitions import Retry
from app.services.core.message_writer import MessageWriter

logger = logging.getLogger(__name__)

BacklogState = Literal["off", "ok", "backlog", "unknown"]


class NotificationService:
    def __init__(
        self,
        db: Database,
        writer: MessageWriter,
        *,
        webhook_max_age: timedelta | None,
        backlog_alert: timedelta,
        public_key: str | None,
        wake: Callable[[], None] | None,
    ) -> None:
        """`webhook_max_age` None: webhooks off; `public_key` None: Web Push off."""
        self.db = db
        self.writer = writer
        self.webhook_max_age = webhook_max_age
        self.backlog_alert = backlog_alert
        self.public_key = public_key
        self._wake = wake

    async def subscribe(self, user_id: str, subscription: Subscription) -> None:
        if self.public_key is None:
            raise push_disabled()
        async with self.db.write() as session, session.begin():
            await PushSubscriptionRepository(session).save(user_id, subscription)

    async def unsubscribe(self, user_id: str, endpoint: str) -> None:
        async with self.db.write() as session, session.begin():
            removed = await PushSubscriptionRepository(session).remove(endpoint, user_id)
        if not removed:
            raise NotFound("No such push subscription", code="PUSH_SUBSCRIPTION_NOT_FOUND")

    async def deliveries(self, status: DeliveryStatus | None, limit: int) -> list[WebhookDelivery]:
        async with self.db.read() as session:
            return await WebhookOutbox(session).newest(status, limit)

    async def retry(self, delivery_id: str) -> WebhookDelivery:
        """Deliver again now (a FAILED one, or a DELIVERED one a receiver lost), with a fresh
        `WEBHOOK_MAX_HOURS`."""
        if self.webhook_max_age is None:
            raise Conflict("Webhooks are off (WEBHOOK_URL is empty)", code="WEBHOOKS_DISABLED")
        done = await self.writer.apply(Retry(delivery_id, utcnow(), self.webhook_max_age))
        if done is None:
            raise NotFound("No such webhook delivery", code="WEBHOOK_DELIVERY_NOT_FOUND")
        if not done:
            raise Conflict(
                "An attempt of this delivery is in flight", code="WEBHOOK_DELIVERY_IN_FLIGHT"
            )
        if self._wake is not None:
            self._wake()
        async with self.db.read() as session:
            row = await WebhookOutbox(session).get(delivery_id)
        if row is None:  # deliveries are never deleted; only a test's cleanup could race here
            raise NotFound("No such webhook delivery", code="WEBHOOK_DELIVERY_NOT_FOUND")
        return row

    async def backlog(self) -> tuple[BacklogState, float | None]:
        """Whether the oldest pending delivery is older than `WEBHOOK_BACKLOG_ALERT_SECONDS`,
        and its age in seconds."""
        if self.webhook_max_age is None:
            return "off", None
        try:
            async with self.db.read() as session:
                oldest = await WebhookOutbox(session).oldest_pending()
        except Exception as exc:
            logger.warning("health: webhook backlog check failed: %r", exc)
            return "unknown", None
        if oldest is None:
            return "ok", 0.0
        age = (utcnow() - oldest).total_seconds()
        return ("backlog" if age > self.backlog_alert.total_seconds() else "ok"), round(age, 3)


def push_disabled() -> NotFound:
    return NotFound("Web Push is off on this server (PUSH_ENABLED=false)", code="PUSH_DISABLED")
