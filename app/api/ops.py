"""Operations: `/health` (per-dependency status) and `/metrics` (Prometheus text)."""

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.api.deps import HealthServiceDep
from app.api.notifications import NotificationServiceDep
from app.config import APP_VERSION
from app.schemas.health import HealthResponse

router = APIRouter(tags=["operations"])


@router.get(
    "/health",
    summary="Liveness and dependencies (503 when degraded)",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse, "description": "A dependency is down"}},
)
async def health(health: HealthServiceDep, notifications: NotificationServiceDep) -> JSONResponse:
    database = await health.database_ok()
    broker = await health.broker_ok()
    healthy = database and broker
    body: dict[str, object] = {
        "status": "ok" if healthy else "degraded",
        "version": APP_VERSION,
        "database": "ok" if database else "down",
        "broker": "ok" if broker else "down",
        "connections": health.connections(),
    }
    # Notifications (SPEC §13): a backlog is reported, not counted as degraded (the receiver
    # is someone else's service; this instance still serves).
    body["webhooks"], body["webhook_backlog_seconds"] = await notifications.backlog()
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
