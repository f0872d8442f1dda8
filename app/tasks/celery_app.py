"""Celery apps: `celery_app` for workers (`celery -A app.tasks.celery_app worker --pool threads
--concurrency 64`), configured from settings when Celery first reads its configuration, and
`create_producer` for servers, configured from the server's own settings."""

from typing import Any

from celery import Celery
from pydantic import ValidationError

from app.config import Settings, get_settings

APP_NAME = "im_service"

celery_app = Celery(APP_NAME, include=["app.tasks.ai_interaction_task"])


def configure(app: Celery, settings: Settings) -> None:
    app.conf.update(
        broker_url=settings.celery_broker,
        result_backend=settings.celery_backend or None,
        task_default_queue=settings.celery_queue,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        # The seed's settings. Celery enforces the first two only with the prefork pool; with
        # `--pool threads` the AI reply deadline bounds a task instead.
        task_time_limit=300,
        worker_max_tasks_per_child=1000,
        task_track_started=True,
    )


def create_producer(settings: Settings) -> Celery:
    """A Celery app that only sends tasks, for a server process."""
    producer = Celery(APP_NAME, set_as_current=False)
    configure(producer, settings)
    return producer


@celery_app.on_configure.connect
def _configure_worker(sender: Celery, **_kwargs: Any) -> None:
    try:
        settings = get_settings()
    except ValidationError as exc:
        # Celery logs and swallows a handler's exception, and the worker would start with
        # Celery's defaults (another queue, no database) and answer nothing: stop instead.
        raise SystemExit(f"the AI worker's settings are invalid: {exc}") from exc
    configure(sender, settings)
