"""Security headers on every HTTP response (SPEC §16): a Content-Security-Policy without inline
script, nosniff, no referrer, no framing. Pure ASGI, so WebSocket scopes pass through untouched;
it never changes a body or a status, and a header a route set itself is kept.
"""

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

APP_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        # 'self' covers ws:/wss: to the page's own host (CSP Level 3).
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
"""The web client and the API: scripts and styles from files of this service only."""

DOCS_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        # Swagger UI and ReDoc set inline styles (React style props, styled-components).
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        # ReDoc's search index runs in a worker built from a blob: URL.
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
"""`/docs` and `/redoc`: still no inline or remote script (their start-up script is a file)."""

CspChooser = Callable[[str], str]


def default_csp(docs_paths: frozenset[str]) -> CspChooser:
    def choose(path: str) -> str:
        return DOCS_CSP if path in docs_paths else APP_CSP

    return choose


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, csp_for_path: CspChooser) -> None:
        self.app = app
        self.csp_for_path = csp_for_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        wanted = [
            (b"content-security-policy", self.csp_for_path(path).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if path.startswith("/api/"):
            # Patients' words are health data: no shared or disk cache keeps an API answer
            # unless a route chose its own policy (attachments will).
            wanted.append((b"cache-control", b"no-store"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in wanted if item[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
