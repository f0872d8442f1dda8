"""Catch-up after a disconnect (SPEC §6 `sync`): every missed message, oldest first, no gap,
in pages of at most 200 with `has_more`."""

import asyncio
from typing import Any

import httpx

from tests.conftest import LiveServer
from tests.factories import consultation, create_user, send_ok
from tests.websocket.wsclient import Connect, WSClient


async def sync_all(client: WSClient, group_id: str, seen: int) -> list[dict[str, Any]]:
    """Ask while `has_more`, as a client does; every page checked to be ≤ 200 and ordered."""
    collected: list[dict[str, Any]] = []
    while True:
        result = await client.request({"type": "sync", "cursors": {group_id: seen}}, "sync_result")
        assert result["group_id"] == group_id
        page = result["messages"]
        assert len(page) <= 200
        collected += page
        if not result["has_more"]:
            return collected
        assert len(page) == 200
        seen = page[-1]["seq"]


async def test_sync_returns_every_missed_message_oldest_first(
    ws: Connect, live_client: httpx.AsyncClient
) -> None:
    room = await consultation(live_client)
    patient = await ws(room.patient)
    await send_ok(live_client, room.doctor, room.group_id, "seen 2")
    event, _ = await patient.message("seen 2")
    last_seen = event["message"]["seq"]
    await patient.close()

    missed = [
        await send_ok(live_client, room.doctor if n % 2 else room.patient, room.group_id, f"m{n}")
        for n in range(7)
    ]
    back = await ws(room.patient)
    result = await back.request(
        {"type": "sync", "cursors": {room.group_id: last_seen}}, "sync_result"
    )
    assert set(result) == {"type", "group_id", "messages", "has_more"}
    assert result["group_id"] == room.group_id and result["has_more"] is False
    assert result["messages"] == missed
    assert [m["seq"] for m in result["messages"]] == list(range(last_seen + 1, last_seen + 8))

    everything = await back.request({"type": "sync", "cursors": {room.group_id: 0}}, "sync_result")
    assert [m["seq"] for m in everything["messages"]] == list(range(1, last_seen + 8))
    nothing_new = await back.request(
        {"type": "sync", "cursors": {room.group_id: last_seen + 7}}, "sync_result"
    )
    assert nothing_new["messages"] == [] and nothing_new["has_more"] is False


async def test_sync_pages_when_more_than_200_were_missed(
    ws: Connect, live_server: LiveServer, live_client: httpx.AsyncClient
) -> None:
    room = await consultation(live_client)
    # Seeded concurrently and in-process (no TCP round trips): the sends are not under test.
    transport = httpx.ASGITransport(app=live_server.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://seed") as seeder:
        await asyncio.gather(
            *(send_ok(seeder, room.doctor, room.group_id, f"n{n}") for n in range(449))
        )
    patient = await ws(room.patient)
    first = await patient.request({"type": "sync", "cursors": {room.group_id: 0}}, "sync_result")
    assert len(first["messages"]) == 200 and first["has_more"] is True
    messages = await sync_all(patient, room.group_id, 0)
    assert [m["seq"] for m in messages] == list(range(1, 451))
    assert len({m["message_id"] for m in messages}) == 450


async def test_sync_several_groups_and_refuse_the_wrong_ones(
    ws: Connect, live_client: httpx.AsyncClient
) -> None:
    room = await consultation(live_client)
    other = await consultation(live_client)
    second_group = await live_client.post(
        "/api/group/create", json={"group_name": "second"}, headers=room.doctor.headers
    )
    second = second_group.json()["group_id"]
    await send_ok(live_client, room.doctor, second, "in second")
    await send_ok(live_client, room.doctor, room.group_id, "in first")
    doctor = await ws(room.doctor)
    await doctor.send(
        {
            "type": "sync",
            "cursors": {room.group_id: 0, "group_nope": 0, other.group_id: 0, second: 0},
        }
    )
    answers: dict[str, dict[str, Any]] = {}
    while len(answers) < 4:
        event = await doctor.recv()
        if event["type"] in ("sync_result", "error"):
            answers[event["group_id"]] = event
    assert answers["group_nope"]["type"] == "error"
    assert answers["group_nope"]["code"] == "GROUP_NOT_FOUND"
    assert answers[other.group_id]["type"] == "error"
    assert answers[other.group_id]["code"] == "NOT_A_MEMBER"
    assert [m["msg_content"] for m in answers[room.group_id]["messages"]][-1] == "in first"
    assert [m["msg_content"] for m in answers[second]["messages"]] == ["in second"]
    assert "in first" not in str(answers[other.group_id])


async def test_sync_validation(ws: Connect, live_client: httpx.AsyncClient) -> None:
    user = await create_user(live_client)
    client = await ws(user)
    for frame in (
        {"type": "sync"},
        {"type": "sync", "cursors": []},
        {"type": "sync", "cursors": {"g": -1}},
        {"type": "sync", "cursors": {"g": "x"}},
        {"type": "sync", "cursors": {"": 0}},
        {"type": "sync", "cursors": {"g": 2**31}},
        {"type": "sync", "cursors": {"g": 10**20}},
        {"type": "sync", "cursors": {f"g{n}": 0 for n in range(501)}},
    ):
        error = await client.request(frame, "error")
        assert error["code"] == "VALIDATION_ERROR", frame
    # No groups asked, nothing answered; the frames are handled in order, so before the pong.
    await client.send({"type": "sync", "cursors": {}})
    await client.send({"type": "ping"})
    _, before = await client.expect("pong")
    assert before == []
