"""The `/health` body."""

from typing import Literal

from pydantic import BaseModel


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    database: Literal["ok", "down"]
    broker: Literal["ok", "down"]
    connections: int
    webhooks: Literal["off", "ok", "backlog", "unknown"] = "off"
    """`backlog`: the oldest pending webhook delivery is older than
    WEBHOOK_BACKLOG_ALERT_SECONDS."""
    webhook_backlog_seconds: float | None = None
