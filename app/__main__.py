"""`python -m app`: serve the app with uvicorn on HOST:PORT, WebSocket limits from settings."""

import uvicorn

from app.config import get_settings
from app.websocket.handler import MAX_FRAME_BYTES


def main() -> None:
    settings = get_settings()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        ws_max_size=MAX_FRAME_BYTES,
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_interval,
        log_config=None,
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
