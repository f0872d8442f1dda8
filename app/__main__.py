"""`python -m app`: serve the app with uvicorn on HOST:PORT, WebSocket limits from settings.

Process-wide tuning lives here, not in the app factory: a short GIL switch interval (database
drivers answer from threads, and at the default 5 ms each answer can wait that long for the
event loop to let go of the GIL), and a garbage collector that runs less often on a heap that
grows with open connections.
"""

import gc
import sys

import uvicorn

from app.config import get_settings
from app.websocket.session import MAX_FRAME_BYTES

GIL_SWITCH_INTERVAL = 0.0005
GC_GEN0_THRESHOLD = 20_000


def main() -> None:
    settings = get_settings()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    gc.set_threshold(GC_GEN0_THRESHOLD, 20, 20)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        ws_max_size=MAX_FRAME_BYTES,
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_interval,
        # Per-message deflate costs ~37 KiB per socket for chat-sized frames that barely shrink.
        ws_per_message_deflate=False,
        log_config=None,
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
