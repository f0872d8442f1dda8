"""The published contract: OpenAPI lists every SPEC §5 route with both security schemes, and
every error (validation included) uses the one envelope."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.factories import assert_error, consultation, create_user

SPEC_ROUTES = [
    ("post", "/api/user/create"),
    ("get", "/api/user/me"),
    ("get", "/api/user/{user_id}"),
    ("put", "/api/user/{user_id}/role"),
    ("post", "/api/auth/token"),
    ("post", "/api/group/create"),
    ("get", "/api/group/list"),
    ("get", "/api/group/{group_id}"),
    ("patch", "/api/group/{group_id}"),
    ("post", "/api/group/{group_id}/members"),
    ("get", "/api/group/{group_id}/members"),
    ("delete", "/api/group/{group_id}/members/{user_id}"),
    ("post", "/api/message/send"),
    ("get", "/api/message/list"),
    ("get", "/api/message/{message_id}"),
    ("post", "/api/message/read"),
    ("get", "/api/ai/interactions"),
    ("get", "/health"),
    ("get", "/metrics"),
]


@pytest.fixture
async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_openapi_lists_every_core_route(openapi: dict[str, Any]) -> None:
    missing = [
        (method, path)
        for method, path in SPEC_ROUTES
        if method not in openapi["paths"].get(path, {})
    ]
    assert missing == []


async def test_openapi_declares_bearer_and_api_key_schemes(openapi: dict[str, Any]) -> None:
    schemes = openapi["components"]["securitySchemes"]
    kinds = {(s["type"], s.get("scheme"), s.get("name"), s.get("in")) for s in schemes.values()}
    assert ("http", "bearer", None, None) in kinds
    assert ("apiKey", None, "X-API-Key", "header") in kinds
    bearer = next(n for n, s in schemes.items() if s.get("scheme") == "bearer")
    api_key = next(n for n, s in schemes.items() if s.get("name") == "X-API-Key")

    def security(method: str, path: str) -> set[str]:
        return {name for req in openapi["paths"][path][method].get("security", []) for name in req}

    assert bearer in security("post", "/api/message/send")
    assert bearer in security("get", "/api/group/list")
    assert api_key in security("post", "/api/auth/token")
    assert {bearer, api_key} <= security("post", "/api/group/create")
    assert {bearer, api_key} <= security("put", "/api/user/{user_id}/role")


async def test_openapi_documents_the_error_envelope(openapi: dict[str, Any]) -> None:
    send = openapi["paths"]["/api/message/send"]["post"]["responses"]
    assert {"201", "200", "403", "422", "429"} <= set(send)
    schema = send["403"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/ErrorResponse")


async def test_docs_pages_are_served(client: httpx.AsyncClient) -> None:
    for path in ("/docs", "/redoc"):
        response = await client.get(path)
        assert response.status_code == 200
        assert "openapi.json" in response.text


async def test_validation_errors_use_the_envelope(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    response = await client.post(
        "/api/message/send", json={"group_id": "g", "content": ""}, headers=user.headers
    )
    error = assert_error(response, 422, "VALIDATION_ERROR")
    [detail] = error["details"]
    assert detail["loc"] == ["body", "content"]
    assert detail["type"] == "string_too_short" and detail["msg"]


async def test_wrong_method_and_unknown_route_use_the_envelope(client: httpx.AsyncClient) -> None:
    assert_error(await client.delete("/api/group/list"), 405, "METHOD_NOT_ALLOWED")
    assert_error(await client.get("/api/nothing/here"), 404, "NOT_FOUND")


async def test_non_json_body_is_a_422_envelope(client: httpx.AsyncClient) -> None:
    user = await create_user(client)
    response = await client.post(
        "/api/message/send",
        content=b"group_id=g&content=hi",
        headers={"Content-Type": "application/x-www-form-urlencoded", **user.headers},
    )
    assert_error(response, 422, "VALIDATION_ERROR")


async def test_oversized_request_bodies_are_413(client: httpx.AsyncClient) -> None:
    """A body far beyond any valid request is refused before it is parsed, in the envelope."""
    user = await create_user(client)
    huge = b'{"group_id": "g", "content": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = await client.post(
        "/api/message/send",
        content=huge,
        headers={"Content-Type": "application/json", **user.headers},
    )
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"group_id": "g", "content": "'
        for _ in range(64):
            yield b"x" * 65536
        yield b'"}'

    streamed = await client.post(
        "/api/message/send",
        content=chunks(),
        headers={"Content-Type": "application/json", **user.headers},
    )
    assert_error(streamed, 413, "PAYLOAD_TOO_LARGE")
    # A large but plausible body is still read (and judged on its content).
    near = await client.post(
        "/api/message/send",
        json={"group_id": "g", "content": "x" * 6000},
        headers=user.headers,
    )
    assert_error(near, 422, "VALIDATION_ERROR")


async def test_oversized_bodies_are_413_on_a_real_server(live_client: httpx.AsyncClient) -> None:
    user = await create_user(live_client)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536

    for content in (b"x" * (3 * 1024 * 1024), chunks()):
        response = await live_client.post(
            "/api/message/send",
            content=content,
            headers={"Content-Type": "application/json", **user.headers},
        )
        assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert (await live_client.get("/health")).status_code == 200


async def test_a_chunked_body_within_the_limit_is_read(live_client: httpx.AsyncClient) -> None:
    room = await consultation(live_client)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"group_id": "' + room.group_id.encode()
        yield b'", "content": "sent in '
        yield b'pieces"}'

    response = await live_client.post(
        "/api/message/send",
        content=chunks(),
        headers={"Content-Type": "application/json", **room.patient.headers},
    )
    assert response.status_code == 201, response.text
    assert response.json()["msg_content"] == "sent in pieces"
