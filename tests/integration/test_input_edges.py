"""Deterministic regressions for what the fuzzers found (SPEC §5: out-of-range input is a 4xx
with the envelope, never a 500), on a real server over PostgreSQL, SQLite and (with
IM_TEST_MYSQL_URL) MySQL/MariaDB.

These assert the contract, not today's behaviour: while a bug they name is open they fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import httpx
import pytest

from tests.databases import MYSQL_URL, fresh_database, migrate
from tests.factories import TestUser, create_group, create_user
from tests.integration.clients import http_client
from tests.integration.conftest import ServerFactory, postgres_database
from tests.integration.processes import ServerProcess


@dataclass
class Target:
    backend: str
    server: ServerProcess
    doctor: TestUser
    group_id: str


@pytest.fixture(scope="module", params=["postgres", "sqlite", *(["mysql"] if MYSQL_URL else [])])
async def target(
    request: pytest.FixtureRequest,
    module_servers: ServerFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Target]:
    workdir = tmp_path_factory.mktemp(f"edges-{request.param}")
    if request.param == "postgres":
        database = postgres_database(request, workdir)
    else:
        database = fresh_database(request.param, workdir)
    async with database as url:
        if request.param != "postgres":
            await migrate(url)
        server = await module_servers.start(f"edges-{request.param}", database_url=url)
        async with http_client(server) as http:
            doctor = await create_user(http, "DOCTOR")
            group_id = (await create_group(http, doctor))["group_id"]
        yield Target(request.param, server, doctor, group_id)
        await server.stop()


async def _get(target: Target, path: str) -> httpx.Response:
    # A fresh connection per request: after a 500 the server may drop a kept-alive connection.
    async with http_client(target.server) as http:
        return await http.get(path, headers=target.doctor.headers)


async def _post(target: Target, path: str, body: Mapping[str, object]) -> httpx.Response:
    async with http_client(target.server) as http:
        return await http.post(path, json=body, headers=target.doctor.headers)


def _assert_client_error_or_ok(response: httpx.Response) -> None:
    assert response.status_code < 500, f"{response.status_code} {response.text}"
    if response.status_code >= 400:
        assert set(response.json()) == {"error"}


HUGE_QUERIES = [
    "page=100000000000000000000",
    "page=4611686018427387904",
    "page_size=100&page=2147483647",
    "after_seq=2147483648",
    "before_seq=2147483648",
    "after_seq=9223372036854775808",
]


@pytest.mark.parametrize("query", HUGE_QUERIES)
async def test_huge_integers_in_message_list_are_not_a_500(target: Target, query: str) -> None:
    response = await _get(target, f"/api/message/list?group_id={target.group_id}&{query}")
    _assert_client_error_or_ok(response)


@pytest.mark.parametrize("query", ["page=100000000000000000000", "page_size=100&page=2147483647"])
async def test_huge_page_in_ai_interactions_is_not_a_500(target: Target, query: str) -> None:
    response = await _get(target, f"/api/ai/interactions?group_id={target.group_id}&{query}")
    _assert_client_error_or_ok(response)


async def test_huge_read_mark_is_not_a_500(target: Target) -> None:
    body = {"group_id": target.group_id, "seq": 2**63}
    _assert_client_error_or_ok(await _post(target, "/api/message/read", body))


NUL_REQUESTS = ["send content", "send client_msg_id", "group name", "username", "path", "query"]


@pytest.mark.parametrize("where", NUL_REQUESTS)
async def test_nul_characters_are_not_a_500(target: Target, where: str) -> None:
    """PostgreSQL text cannot hold U+0000; SQLite and MySQL can. Either way: a 4xx or stored,
    no 500."""
    group_id = target.group_id
    if where == "send content":
        response = await _post(
            target, "/api/message/send", {"group_id": group_id, "content": "a\u0000b"}
        )
    elif where == "send client_msg_id":
        body = {"group_id": group_id, "content": "x", "client_msg_id": "c\u0000"}
        response = await _post(target, "/api/message/send", body)
    elif where == "group name":
        response = await _post(target, "/api/group/create", {"group_name": "g\u0000"})
    elif where == "username":
        body = {"username": "u\u0000", "user_role": "PATIENT"}
        response = await _post(target, "/api/user/create", body)
    elif where == "path":
        response = await _get(target, "/api/group/group_%00x")
    else:
        response = await _get(target, "/api/message/list?group_id=g%00x")
    _assert_client_error_or_ok(response)


async def test_405_names_the_methods_of_the_route(target: Target) -> None:
    """RFC 9110 §15.5.6: a 405 lists the target's methods in Allow."""
    async with http_client(target.server) as http:
        response = await http.put("/api/auth/token", json={})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert response.headers.get("allow") == "POST"


async def test_message_bodies_never_reach_the_log(target: Target) -> None:
    """Patients' words are health data: not in the log, even when a send fails."""
    marker = "private-symptom-7d1c"
    for content in (f"{marker} plain", f"{marker} with a NUL \u0000"):
        await _post(target, "/api/message/send", {"group_id": target.group_id, "content": content})
    assert marker not in target.server.log_text()
