"""Security headers (SPEC §16) on API answers, the web client, errors and 413s; `/docs` and
`/redoc` served offline: every script and stylesheet they reference is local and answers 200."""

import re

import httpx

from tests.factories import assert_error, create_user

EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def directives(response: httpx.Response) -> dict[str, list[str]]:
    policy = response.headers["content-security-policy"]
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def assert_secured(response: httpx.Response, *, docs: bool = False) -> dict[str, list[str]]:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.headers)
    csp = directives(response)
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["script-src"] == ["'self'"], "no inline, eval or remote script anywhere"
    assert csp["object-src"] == ["'none'"]
    assert csp["default-src"] == ["'self'"]
    if not docs:
        assert csp["style-src"] == ["'self'"]
    return csp


async def test_api_responses_carry_the_headers(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    response = await client.get("/api/user/me", headers=user.headers)
    assert response.status_code == 200
    assert_secured(response)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-request-id"]  # the request-context middleware still runs


async def test_the_web_client_page_and_its_files(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert_secured(page)
    # No inline script or style attribute the policy would block.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), "inline <script>"
    assert " style=" not in page.text
    assert not re.search(r"\son[a-z]+=", page.text), "inline event handler"
    script = await client.get("/main.js")
    assert script.status_code == 200
    assert_secured(script)


async def test_error_answers_carry_the_headers(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/group/group_nope/members")
    assert_error(missing, 401)
    assert_secured(missing)
    unknown = await client.get("/api/no-such-route")
    assert_error(unknown, 404, "NOT_FOUND")
    assert_secured(unknown)
    too_large = await client.post(
        "/api/user/create",
        content=b"x" * (2 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    assert_error(too_large, 413, "PAYLOAD_TOO_LARGE")
    assert_secured(too_large)


async def test_a_route_keeps_its_own_cache_policy(client: httpx.AsyncClient) -> None:
    health = await client.get("/health")
    assert_secured(health)
    assert "cache-control" not in health.headers  # only /api/* answers are marked no-store


async def test_docs_and_redoc_work_offline(client: httpx.AsyncClient) -> None:
    for path, needed in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        page = await client.get(path)
        assert page.status_code == 200, path
        csp = assert_secured(page, docs=True)
        assert "'unsafe-eval'" not in page.headers["content-security-policy"]
        assert csp["style-src"] == ["'self'", "'unsafe-inline'"]
        assert "http://" not in page.text and "https://" not in page.text, "no CDN"
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), "inline <script>"
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert any(a.endswith(needed) for a in assets), assets
        for asset in assets:
            assert asset.startswith("/"), asset
            answer = await client.get(asset)
            assert answer.status_code == 200, asset
            assert answer.content, asset
            assert_secured(answer)
        assert "/openapi.json" in page.text
    start_up = await client.get("/docs-static/swagger-init.js")
    assert "text/javascript" in start_up.headers["content-type"]
    assert "SwaggerUIBundle(" in start_up.text
    assert (await client.get("/openapi.json")).status_code == 200
