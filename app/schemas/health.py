"""The `/health` body."""

from typing import Literal

from pydantic import BaseModel


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    database: Literal["ok", "down"]
    broker: Literal["ok", "down"]
    connections: int
