"""What the browser needs beside the API: security headers on every response and `/docs` and
`/redoc` served offline (assets from the `fastapi-offline` package, start-up script as a file,
no CDN, nothing inline). `install_web(app)` is the only entry point.
"""

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.routing import BaseRoute

from app.api.security_headers import SecurityHeadersMiddleware, default_csp

DOCS_ASSETS = "/docs-static"
DOCS_ASSET_DIR = Path(str(files("fastapi_offline") / "static"))

SWAGGER_INIT_JS = """\
// Swagger UI start-up, served as a file so the Content-Security-Policy needs no inline script.
(() => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null, // the online validator is a remote service: never called
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
"""

SWAGGER_HTML = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - Swagger UI</title>
<link rel="icon" href="{assets}/favicon.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/swagger-init.js"></script>
</body>
</html>
"""

REDOC_HTML = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - ReDoc</title>
<link rel="icon" href="{assets}/favicon.png">
</head>
<body>
<redoc spec-url="{openapi_url}"></redoc>
<script src="{assets}/redoc.standalone.js"></script>
</body>
</html>
"""


def install_web(app: FastAPI) -> None:
    """Replace FastAPI's CDN-based docs pages with offline ones and add the security headers
    middleware (outermost, so error answers of inner middleware carry the headers too)."""
    docs_url, redoc_url = app.docs_url or "/docs", app.redoc_url or "/redoc"
    replaced = {docs_url, redoc_url, app.swagger_ui_oauth2_redirect_url}
    app.router.routes[:] = [r for r in app.router.routes if _path(r) not in replaced]
    openapi_url = app.openapi_url or "/openapi.json"

    def page(template: str) -> str:
        return template.format(title=app.title, assets=DOCS_ASSETS, openapi_url=openapi_url)

    swagger_page, redoc_page = page(SWAGGER_HTML), page(REDOC_HTML)

    async def swagger(_request: Request) -> HTMLResponse:
        return HTMLResponse(swagger_page)

    async def redoc(_request: Request) -> HTMLResponse:
        return HTMLResponse(redoc_page)

    async def swagger_init(_request: Request) -> Response:
        return Response(SWAGGER_INIT_JS, media_type="text/javascript")

    app.add_api_route(docs_url, swagger, methods=["GET"], include_in_schema=False)
    app.add_api_route(redoc_url, redoc, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        f"{DOCS_ASSETS}/swagger-init.js", swagger_init, methods=["GET"], include_in_schema=False
    )
    app.mount(DOCS_ASSETS, StaticFiles(directory=DOCS_ASSET_DIR), name="docs-static")
    app.add_middleware(
        SecurityHeadersMiddleware, csp_for_path=default_csp(frozenset({docs_url, redoc_url}))
    )


def _path(route: BaseRoute) -> str | None:
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None
