"""kill -9 of a server in the middle of a burst of idempotent sends (SPEC §3, §5, §6).

After a restart: every send answered 201 is stored exactly once with the seq it was given;
retrying every unanswered send with its `client_msg_id` stores nothing twice; and `sync` from
seq 0 returns the whole group in seq order, 1..N with no gap, across `has_more` pages.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.databases import MYSQL_URL
from tests.factories import TestUser, add_member, create_group, create_user
from tests.integration.clients import WsClient, assert_dense, http_client
from tests.integration.conftest import ServerFactory

USERS = 10
SENDS_PER_USER = 20
KILL_AFTER = 60  # answered sends before the kill -9
IN_FLIGHT = 30


def _cmid(user: TestUser, index: int) -> str:
    return f"{user.user_id[-12:]}-{index:03d}"


@pytest.fixture(params=["postgres", "sqlite", *(["mysql"] if MYSQL_URL else [])])
def crash_database_url(request: pytest.FixtureRequest) -> str:
    """The throwaway PostgreSQL cluster, a SQLite file, or the shared MySQL/MariaDB server."""
    names = {"postgres": "throwaway_postgres_url", "sqlite": "sqlite_url", "mysql": "mysql_url"}
    url: str = request.getfixturevalue(names[request.param])
    return url


async def test_kill_9_mid_burst_loses_and_duplicates_nothing(
    servers: ServerFactory, crash_database_url: str
) -> None:
    server = await servers.start("crashy", database_url=crash_database_url)
    async with http_client(server) as http:
        doctor = await create_user(http, "DOCTOR")
        group_id = (await create_group(http, doctor))["group_id"]
        patients = [await create_user(http, "PATIENT") for _ in range(USERS - 1)]
        for patient in patients:
            await add_member(http, doctor, group_id, patient)
    users = [doctor, *patients]
    joins = len(patients)  # one SYSTEM message each

    answered: dict[str, dict[str, Any]] = {}
    unanswered: dict[str, TestUser] = {}
    killed = asyncio.Event()
    gate = asyncio.Semaphore(IN_FLIGHT)
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)

    async def one_send(http: httpx.AsyncClient, user: TestUser, index: int) -> None:
        cmid = _cmid(user, index)
        async with gate:
            if killed.is_set():
                unanswered[cmid] = user  # never sent: the server is gone
                return
            try:
                response = await http.post(
                    "/api/message/send",
                    json={"group_id": group_id, "content": f"burst {cmid}", "client_msg_id": cmid},
                    headers=user.headers,
                )
            except httpx.HTTPError:
                unanswered[cmid] = user
                return
        assert response.status_code == 201, response.text
        answered[cmid] = response.json()
        if len(answered) >= KILL_AFTER and not killed.is_set():
            killed.set()
            server.kill()

    async with http_client(server, limits=limits, timeout=10) as http:
        sends = [one_send(http, u, i) for i in range(SENDS_PER_USER) for u in users]
        await asyncio.wait_for(asyncio.gather(*sends), timeout=60)
    assert killed.is_set(), "the burst finished before the kill"
    assert not server.is_alive()
    assert len(answered) + len(unanswered) == USERS * SENDS_PER_USER
    assert unanswered, "nothing was in flight at the kill"

    await server.start()
    async with http_client(server) as http:
        # Every answered send is stored once, with the seq and id it was answered with.
        reader = await WsClient.open(server, doctor)
        try:
            stored, _ = await reader.sync(group_id)
            by_cmid = Counter(m["client_msg_id"] for m in stored if m["client_msg_id"])
            assert all(by_cmid[cmid] == 1 for cmid in answered), "an answered send is missing"
            stored_by_cmid = {m["client_msg_id"]: m for m in stored if m["client_msg_id"]}
            for cmid, original in answered.items():
                assert stored_by_cmid[cmid]["message_id"] == original["message_id"]
                assert stored_by_cmid[cmid]["seq"] == original["seq"]

            # Retry every unanswered send (some committed before the kill: 200, others: 201).
            replays = 0
            for cmid, user in sorted(unanswered.items()):
                retry = await http.post(
                    "/api/message/send",
                    json={"group_id": group_id, "content": f"burst {cmid}", "client_msg_id": cmid},
                    headers=user.headers,
                )
                assert retry.status_code in (200, 201), retry.text
                assert retry.json()["client_msg_id"] == cmid
                replays += retry.status_code == 200
                if cmid in stored_by_cmid:
                    assert retry.status_code == 200
                    assert retry.json()["message_id"] == stored_by_cmid[cmid]["message_id"]
            # Replaying an answered one after the restart is a replay, not a new message.
            some_cmid, some_original = next(iter(answered.items()))
            owner = next(u for u in users if some_cmid.startswith(u.user_id[-12:]))
            again = await http.post(
                "/api/message/send",
                json={"group_id": group_id, "content": "x", "client_msg_id": some_cmid},
                headers=owner.headers,
            )
            assert again.status_code == 200
            assert again.json()["message_id"] == some_original["message_id"]

            # The whole group via sync: every send exactly once, seqs 1..N dense, in order.
            everything, pages = await reader.sync(group_id)
        finally:
            await reader.close()
        expected_total = joins + USERS * SENDS_PER_USER
        assert len(everything) == expected_total
        assert pages >= 2  # more than one sync page (has_more was followed)
        assert_dense(everything)
        counts = Counter(m["client_msg_id"] for m in everything if m["client_msg_id"])
        assert set(counts) == {_cmid(u, i) for u in users for i in range(SENDS_PER_USER)}
        assert set(counts.values()) == {1}
        group = await http.get(f"/api/group/{group_id}", headers=doctor.headers)
        assert group.json()["last_seq"] == expected_total
    print(f"answered={len(answered)} unanswered={len(unanswered)} replayed_as_200={replays}")
