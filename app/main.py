"""The app: `create_app(settings)` (settings → server services at start-up → routers, the
WebSocket route, the static web client), and a module-level `app` for `uvicorn app.main:app`.

`app` is built on first access, not at import, so importing this module never reads settings.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, WebSocket
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.routing import Match, Mount
from starlette.types import Scope

from app.api import ai, attachment, auth, group, invite, message, notifications, ops, user
from app.api.errors import install_error_handlers
from app.api.middleware import RequestContextMiddleware
from app.api.responses import errors
from app.api.web import install_web
from app.bootstrap import start_server
from app.config import APP_VERSION, Settings, get_settings, warn_about_settings
from app.utils.logger import configure_logging
from app.websocket.handler import handle_connection
from app.websocket.transport import CaptureServerSend

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
API_PATHS = ("/api/", "/ws/", "/health", "/metrics", "/docs", "/redoc", "/openapi.json")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    logger.info("%s %s: AI provider %s", settings.app_name, APP_VERSION, settings.ai_provider)
    warn_about_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        server = await start_server(settings)
        app.state.server = server
        try:
            yield
        finally:
            await server.stop()

    app = FastAPI(
        title=settings.app_name,
        version=APP_VERSION,
        description="Group chat for medical consultation, with an optional AI assistant.",
        lifespan=lifespan,
        responses=errors(400, 413, 422, 500, 503),
        # Our own Prometheus metrics and logs cover this; FastAPI's OpenTelemetry hooks cost
        # a middleware layer on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    install_error_handlers(app)
    # Most-used routes first: the router tries routes in order.
    for router in (
        message.router,
        group.router,
        user.router,
        auth.router,
        invite.router,
        ai.router,
        attachment.router,
        notifications.router,
    ):
        app.include_router(router, prefix="/api")
    app.include_router(ops.router)

    @app.websocket("/ws/{user_id}")
    async def websocket_endpoint(websocket: WebSocket, user_id: str) -> None:
        await handle_connection(websocket, user_id, websocket.app.state.server.sockets)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials="*" not in settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
        )
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(CaptureServerSend)
    if STATIC_DIR.is_dir():
        app.router.routes.append(
            WebClientMount("/", app=StaticFiles(directory=STATIC_DIR, html=True), name="web")
        )
    install_web(app)
    return app


class WebClientMount(Mount):
    """The web client at `/`, which never answers for API paths: an unknown API path or a
    wrong method on an API route gets the API's own 404 / 405 envelope, not a static file's."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get("path", "").startswith(API_PATHS):
            return Match.NONE, {}
        return super().matches(scope)


def __getattr__(name: str) -> FastAPI:
    """`app`, built once from `get_settings()` on first access (PEP 562)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    global _app
    if _app is None:
        _app = create_app()
    return _app


_app: FastAPI | None = None
