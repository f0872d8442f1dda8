"""Concurrent sends (SPEC §3): per-group seqs are dense and unique; idempotency survives races."""

import asyncio

import httpx
from prometheus_client import REGISTRY

from app.config import Settings
from app.main import create_app
from tests.factories import add_member, consultation, create_user, list_messages, send

SENDERS = 64


async def test_concurrent_sends_get_a_dense_range_of_seqs(client: httpx.AsyncClient) -> None:
    room = await consultation(client)
    other = await create_user(client, "PATIENT")
    await add_member(client, room.doctor, room.group_id, other)  # seq 2
    authors = (room.doctor, room.patient, other)
    transactions_before = REGISTRY.get_sample_value("im_writer_transactions_total") or 0.0
    responses = await asyncio.wait_for(
        asyncio.gather(
            *(send(client, authors[n % 3], room.group_id, f"burst {n}") for n in range(SENDERS))
        ),
        timeout=60,
    )
    assert [r.status_code for r in responses] == [201] * SENDERS
    got = sorted(r.json()["seq"] for r in responses)
    assert got == list(range(3, 3 + SENDERS))
    assert len({r.json()["message_id"] for r in responses}) == SENDERS
    # Group commit: sends that wait together are stored together, not one transaction each.
    transactions = (REGISTRY.get_sample_value("im_writer_transactions_total") or 0.0) - (
        transactions_before
    )
    assert 1 <= transactions < SENDERS

    stored = await list_messages(client, room.doctor, room.group_id, after_seq=0, limit=200)
    assert [m["seq"] for m in stored.json()["messages"]] == list(range(1, 3 + SENDERS))
    group = await client.get(f"/api/group/{room.group_id}", headers=room.doctor.headers)
    assert group.json()["last_seq"] == 2 + SENDERS


async def test_concurrent_sends_to_different_groups_number_each_group(
    client: httpx.AsyncClient,
) -> None:
    rooms = [await consultation(client) for _ in range(4)]
    responses = await asyncio.wait_for(
        asyncio.gather(
            *(send(client, room.patient, room.group_id, f"{n}") for n in range(8) for room in rooms)
        ),
        timeout=60,
    )
    assert all(r.status_code == 201 for r in responses)
    for room in rooms:
        seqs = sorted(r.json()["seq"] for r in responses if r.json()["group_id"] == room.group_id)
        assert seqs == list(range(2, 10))


async def test_concurrent_retries_of_one_client_msg_id_store_it_once(
    client: httpx.AsyncClient,
) -> None:
    room = await consultation(client)
    responses = await asyncio.wait_for(
        asyncio.gather(
            *(
                send(client, room.patient, room.group_id, "tap tap", client_msg_id="double-tap")
                for _ in range(16)
            )
        ),
        timeout=60,
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 15 + [201]
    assert len({r.json()["message_id"] for r in responses}) == 1
    listing = await list_messages(client, room.doctor, room.group_id)
    assert listing.json()["total"] == 2


async def test_two_instances_racing_one_client_msg_id_store_it_once(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Two server instances on one database: a retry that lands on the other instance while the
    first send is in flight still resolves to the one stored message."""
    room = await consultation(client)
    second = create_app(settings)
    async with second.router.lifespan_context(second):
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://second") as other:
            for attempt in range(5):
                key = f"cross-instance-{attempt}"
                responses = await asyncio.wait_for(
                    asyncio.gather(
                        *(
                            send(http, room.patient, room.group_id, "hello", client_msg_id=key)
                            for _ in range(6)
                            for http in (client, other)
                        )
                    ),
                    timeout=60,
                )
                assert sorted(r.status_code for r in responses) == [200] * 11 + [201]
                assert len({r.json()["message_id"] for r in responses}) == 1
    listing = await list_messages(client, room.doctor, room.group_id, after_seq=0, limit=200)
    assert [m["seq"] for m in listing.json()["messages"]] == list(range(1, 7))
