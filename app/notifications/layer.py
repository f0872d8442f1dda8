"""The notification layer as the wiring installs it: the hook to register on the core, the
webhook deliverer (servers only), the pusher, and the service the routes call."""

from __future__ import annotations

from datetime import timedelta

from app.config import Settings
from app.db.session import Database
from app.notifications.deliverer import WebhookDeliverer
from app.notifications.hook import NotificationHook, Online
from app.notifications.push import Pusher
from app.notifications.sender import WebhookSender
from app.notifications.service import NotificationService
from app.notifications.vapid import application_server_key, load_or_create
from app.services.core.message_writer import MessageWriter


class NotificationLayer:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        writer: MessageWriter,
        online: Online | None,
        *,
        deliver: bool,
    ) -> None:
        """`deliver`: run a webhook deliverer here (servers; a Celery worker only stages rows,
        which the servers' deliverers pick up)."""
        webhooks = bool(settings.webhook_url)
        max_age = timedelta(hours=settings.webhook_max_hours) if webhooks else None
        self.deliverer: WebhookDeliverer | None = None
        if webhooks and deliver:
            sender = WebhookSender(
                settings.webhook_url,
                settings.webhook_secret.get_secret_value(),
                settings.webhook_timeout,
            )
            self.deliverer = WebhookDeliverer(
                db,
                writer,
                sender,
                concurrency=settings.webhook_concurrency,
                retry_base=settings.webhook_retry_base_seconds,
                retention=timedelta(days=settings.webhook_retention_days),
            )
        self.pusher: Pusher | None = None
        public_key: str | None = None
        if settings.push_enabled:
            vapid = load_or_create(settings.data_dir)
            public_key = application_server_key(vapid)
            self.pusher = Pusher(
                db,
                writer,
                vapid,
                contact=settings.push_contact,
                concurrency=settings.push_concurrency,
            )
        wake = self.deliverer.wake if self.deliverer is not None else None
        self.hook = NotificationHook(
            webhook_max_age=max_age,
            online=online,
            wake=wake,
            push=self.pusher.notify if self.pusher is not None else None,
        )
        self.service = NotificationService(
            db,
            writer,
            webhook_max_age=max_age,
            backlog_alert=timedelta(seconds=settings.webhook_backlog_alert_seconds),
            public_key=public_key,
            wake=wake,
        )

    @property
    def active(self) -> bool:
        return self.hook.webhook_max_age is not None or self.pusher is not None

    def start(self) -> None:
        if self.deliverer is not None:
            self.deliverer.start()
        if self.pusher is not None:
            self.pusher.start()

    async def stop(self) -> None:
        if self.deliverer is not None:
            await self.deliverer.stop()
        if self.pusher is not None:
            await self.pusher.stop()
