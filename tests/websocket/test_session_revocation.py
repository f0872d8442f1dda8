"""A revoked session's sockets are closed with 4401 (SPEC §10); other sessions' sockets stay,
and a revoked session's token cannot open a new one."""

from __future__ import annotations

import httpx

from tests.conftest import LiveServer
from tests.factories import SERVICE_HEADERS, TestUser, create_user
from tests.websocket.test_connect import assert_refused
from tests.websocket.wsclient import Connect

PASSWORD = "correct horse battery"


async def second_session(client: httpx.AsyncClient, user: TestUser) -> TestUser:
    response = await client.post(
        "/api/auth/token", json={"user_id": user.user_id}, headers=SERVICE_HEADERS
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return TestUser(
        user.user_id, user.username, user.user_role, body["access_token"], body["refresh_token"]
    )


async def test_logout_closes_that_sessions_sockets_only(
    live_server: LiveServer, live_client: httpx.AsyncClient, ws: Connect
) -> None:
    phone = await create_user(live_client)
    laptop = await second_session(live_client, phone)
    phone_socket = await ws(phone)
    phone_second_tab = await ws(phone)
    laptop_socket = await ws(laptop)

    response = await live_client.post("/api/auth/logout", headers=phone.headers)
    assert response.status_code == 204
    assert await phone_socket.closed_code() == 4401
    assert await phone_second_tab.closed_code() == 4401
    await laptop_socket.ping()
    await assert_refused(live_server.ws_url(phone.user_id, phone.token))


async def test_password_change_closes_the_other_sessions_sockets(
    live_client: httpx.AsyncClient, ws: Connect
) -> None:
    here = await create_user(live_client, login="socketuser", password=PASSWORD)
    there = await second_session(live_client, here)
    here_socket = await ws(here)
    there_socket = await ws(there)
    changed = await live_client.put(
        "/api/user/me/password",
        json={"current_password": PASSWORD, "new_password": "another good one"},
        headers=here.headers,
    )
    assert changed.status_code == 204
    assert await there_socket.closed_code() == 4401
    await here_socket.ping()


async def test_refresh_token_reuse_closes_the_sockets(
    live_client: httpx.AsyncClient, ws: Connect
) -> None:
    user = await create_user(live_client)
    socket = await ws(user)
    for expected in (200, 401):  # the second use of the same token is theft
        answer = await live_client.post(
            "/api/auth/refresh", json={"refresh_token": user.refresh_token}
        )
        assert answer.status_code == expected
    assert await socket.closed_code() == 4401
