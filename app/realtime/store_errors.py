"""Reporting a failure of a Redis-backed store (presence, rate-limit slots, throttles).

Each store falls back to a safe answer when Redis fails (the chat works without presence or a
rate limit), but the failure is never silent: it is counted in `/metrics` and logged, at most
once per `LOG_INTERVAL` seconds per store so an outage does not flood the log.
"""

import logging
import time

from app.metrics import STORE_ERRORS

logger = logging.getLogger(__name__)

LOG_INTERVAL = 10.0
_last_logged: dict[str, float] = {}


def report_store_error(store: str, exc: BaseException) -> None:
    STORE_ERRORS.labels(store).inc()
    now = time.monotonic()
    if now - _last_logged.get(store, -LOG_INTERVAL) >= LOG_INTERVAL:
        _last_logged[store] = now
        logger.warning("%s store unavailable, falling back: %r", store, exc)
