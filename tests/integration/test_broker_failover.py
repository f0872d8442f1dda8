"""Redis restarted under two instances during fan-out (SPEC §1, §5 health, §6 delivery).

Sends keep succeeding while Redis is down (fan-out never delays or fails a send), `/health`
says the broker is down, both instances re-subscribe by themselves once Redis is back, fan-out
resumes across instances, and a client recovers what it missed with `sync`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.factories import add_member, create_group, create_user, send
from tests.integration.clients import WsClient, assert_dense, http_client
from tests.integration.conftest import ServerFactory
from tests.integration.processes import RedisServer, ServerProcess

BURST = 30
HEALTH_WITHIN = 30.0


async def _health(server: ServerProcess) -> tuple[int, dict[str, Any]]:
    async with http_client(server, timeout=5) as http:
        response = await http.get("/health")
    return response.status_code, response.json()


async def _wait_broker(server: ServerProcess, state: str, within: float) -> float:
    """Seconds until `/health` reports the broker `state`; bounded."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        _, body = await _health(server)
        if body["broker"] == state:
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    raise AssertionError(f"{server.name}: broker not {state} after {within}s: {body}")


async def test_redis_restart_during_fanout(
    servers: ServerFactory, scaled_database_url: str, own_redis: RedisServer
) -> None:
    common = {"database_url": scaled_database_url, "broker_url": own_redis.url}
    a = await servers.start("a", redis_prefix="failover", **common)
    b = await servers.start("b", redis_prefix="failover", **common)
    async with http_client(a) as http_a, http_client(b) as http_b:
        doctor = await create_user(http_a, "DOCTOR")
        patient = await create_user(http_a, "PATIENT")
        group_id = (await create_group(http_a, doctor))["group_id"]
        await add_member(http_a, doctor, group_id, patient)
        doctor_a = await WsClient.open(a, doctor)
        patient_b = await WsClient.open(b, patient)
        try:
            first = await send(http_a, doctor, group_id, "before the outage")
            await patient_b.expect_message(first.json()["message_id"])

            # A burst of sends through A; Redis goes away in the middle of it.
            statuses: list[int] = []
            a_third_sent = asyncio.Event()

            async def burst() -> None:
                for index in range(BURST):
                    response = await send(http_a, doctor, group_id, f"burst {index}")
                    statuses.append(response.status_code)
                    if len(statuses) == BURST // 3:
                        a_third_sent.set()
                    await asyncio.sleep(0.05)

            sender = asyncio.create_task(burst())
            await asyncio.wait_for(a_third_sent.wait(), timeout=30)
            await asyncio.to_thread(own_redis.stop, hard=True)
            down_status, down_body = await _health(a)
            await asyncio.wait_for(sender, timeout=60)
            assert statuses == [201] * BURST, "a send failed because the broker was down"
            assert down_status == 503
            assert (down_body["status"], down_body["broker"]) == ("degraded", "down")
            assert down_body["database"] == "ok"

            await asyncio.to_thread(own_redis.start)
            for server in (a, b):
                await _wait_broker(server, "ok", HEALTH_WITHIN)
                status, body = await _health(server)
                assert (status, body["status"]) == (200, "ok")

            # Fan-out resumes across instances, both ways, on the same sockets.
            after = await send(http_a, doctor, group_id, "after the outage (A)")
            assert after.status_code == 201
            await patient_b.expect_message(after.json()["message_id"])
            back = await send(http_b, patient, group_id, "after the outage (B)")
            assert back.status_code == 201
            await doctor_a.expect_message(back.json()["message_id"])

            # The patient recovers the gap with sync from the last seq it saw without a hole.
            seen = {e["message"]["seq"] for e in patient_b.received if e["type"] == "message"}
            start = first.json()["seq"]
            contiguous = start
            while contiguous + 1 in seen:
                contiguous += 1
            missed, _ = await patient_b.sync(group_id, after_seq=contiguous)
            assert_dense(missed, first=contiguous + 1)
            group = (await http_b.get(f"/api/group/{group_id}", headers=patient.headers)).json()
            assert missed[-1]["seq"] == group["last_seq"]
            assert seen | {m["seq"] for m in missed} >= set(range(start, group["last_seq"] + 1))
            lost_live = set(range(start, group["last_seq"] + 1)) - seen
            print(f"pushed live: {len(seen)}, recovered by sync only: {len(lost_live)}")
        finally:
            await doctor_a.close()
            await patient_b.close()
    assert "broker connection lost" in a.log_text()


async def test_member_removed_while_redis_is_down_gets_no_more_messages(
    servers: ServerFactory, scaled_database_url: str, own_redis: RedisServer
) -> None:
    """SPEC §4: only members read a group's messages. The removal's cache invalidation is a
    broker event; when Redis loses it, the other instance must not keep pushing the group's
    messages to the removed member's open socket."""
    common = {"database_url": scaled_database_url, "broker_url": own_redis.url}
    a = await servers.start("a", redis_prefix="revoke", **common)
    b = await servers.start("b", redis_prefix="revoke", **common)
    async with http_client(a) as http_a:
        doctor = await create_user(http_a, "DOCTOR")
        patient = await create_user(http_a, "PATIENT")
        removed = await create_user(http_a, "PATIENT")
        group_id = (await create_group(http_a, doctor))["group_id"]
        await add_member(http_a, doctor, group_id, patient)
        await add_member(http_a, doctor, group_id, removed)
        patient_b = await WsClient.open(b, patient)
        removed_b = await WsClient.open(b, removed)
        try:
            warm = await send(http_a, doctor, group_id, "everyone sees this")
            await patient_b.expect_message(warm.json()["message_id"])
            await removed_b.expect_message(warm.json()["message_id"])  # B's member cache is warm

            await asyncio.to_thread(own_redis.stop, hard=True)
            gone = await http_a.delete(
                f"/api/group/{group_id}/members/{removed.user_id}", headers=doctor.headers
            )
            assert gone.status_code == 204, gone.text
            await asyncio.to_thread(own_redis.start)
            for server in (a, b):
                await _wait_broker(server, "ok", HEALTH_WITHIN)

            secret = await send(http_a, doctor, group_id, "after the removal")
            assert secret.status_code == 201
            await patient_b.expect_message(secret.json()["message_id"])
            leaked = await removed_b.quiet(
                lambda e: (
                    e["type"] == "message"
                    and e["message"]["message_id"] == secret.json()["message_id"]
                ),
                1.0,
            )
            assert leaked == [], "a removed member still receives the group's messages"
            # The database side is right: the removed member cannot read or sync.
            await removed_b.send({"type": "sync", "cursors": {group_id: 0}})
            refused = await removed_b.expect(lambda e: e["type"] in ("error", "sync_result"))
            assert refused["type"] == "error"
        finally:
            await patient_b.close()
            await removed_b.close()
