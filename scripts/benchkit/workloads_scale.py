"""`fanout-scale`: the same traffic on 1, 2 and 4 server processes over Redis, to show what
one delivered message costs the servers as instances are added.

Users sit on a random process (as behind a least-connections balancer), every one of them
online; open-loop HTTP senders post to the sender's own process. Per point: server CPU-seconds
per delivered message (all processes, the drain included), the same less what the processes
use idle with every socket open (measured before the traffic), how many envelopes each process
heard from the broker per message sent (routed fan-out: only the groups it has a member of),
and the end-to-end latency. With broadcast fan-out, every process hears every event, so the
cost per delivered message grows with the number of processes; with routing it should not.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import httpx

from benchkit.api import Api, BenchGroup, BenchUser, bounded
from benchkit.servers import ServerSet, raise_fd_limit
from benchkit.stats import process_cpu_seconds
from benchkit.workloads_ws import FanoutReceiver, fanout_phase, open_all, wait_quiet

RECEIVED = "im_fanout_envelopes_received_total"
DELIVERED = "im_fanout_deliveries_total"
STORED = 'im_messages_sent_total{msg_type="TEXT"}'
TRANSACTIONS = "im_writer_transactions_total"
PUBLISHED = "im_broker_envelopes_published_total"
PUBLISHES = "im_broker_publish_batches_total"
COUNTERS = (RECEIVED, DELIVERED, STORED, TRANSACTIONS, PUBLISHED, PUBLISHES)
PLACEMENT_SEED = 20
IDLE_SECONDS = 5.0
"""The idle baseline: every socket open, no traffic (pings, presence refresh, timers)."""


async def build_spread_groups(
    api: Api, groups: int, size: int, servers: int, rng: random.Random
) -> list[BenchGroup]:
    """`groups` groups of one doctor and size-1 patients, each user on a random process."""

    async def user(role: str) -> BenchUser:
        return await api.create_user(role, rng.randrange(servers))

    doctors = await bounded(user("DOCTOR") for _ in range(groups))
    patients = await bounded(user("PATIENT") for _ in range(groups * (size - 1)))
    group_ids = await bounded(
        api.create_group(doctor, f"scale group {index}") for index, doctor in enumerate(doctors)
    )
    built = [BenchGroup(gid, [doctor]) for gid, doctor in zip(group_ids, doctors, strict=True)]
    for index, patient in enumerate(patients):
        built[index % groups].members.append(patient)
    await bounded(
        api.add_member(group.members[0], group.group_id, member)
        for group in built
        for member in group.members[1:]
    )
    return built


async def scrape(urls: list[str], names: tuple[str, ...]) -> list[dict[str, float]]:
    """The given counters from each process's /metrics (absent counters read as None)."""

    async def one(client: httpx.AsyncClient, url: str) -> dict[str, float]:
        text = (await client.get(f"{url}/metrics")).text
        values: dict[str, float] = {}
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name in names:
                values[name] = float(value)
        return values

    async with httpx.AsyncClient(timeout=10.0) as client:
        return list(await asyncio.gather(*(one(client, url) for url in urls)))


async def fanout_scale_point(
    servers: ServerSet,
    api: Api,
    *,
    users: int,
    group_size: int,
    rate: int,
    seconds: float,
    drain_seconds: float,
    compression: bool,
) -> dict[str, Any]:
    raise_fd_limit(users + 1000)
    rng = random.Random(PLACEMENT_SEED)
    groups = await build_spread_groups(api, users // group_size, group_size, servers.procs, rng)
    members = [member for group in groups for member in group.members]
    sockets = await open_all(api, members, compression)
    receiver = FanoutReceiver()
    readers = [
        asyncio.create_task(receiver.run(user, sock))
        for user, sock in zip(members, sockets, strict=True)
    ]
    settle_seconds = await wait_quiet(servers.pids)
    try:
        idle_before = [process_cpu_seconds(pid) for pid in servers.pids]
        await asyncio.sleep(IDLE_SECONDS)
        idle = [
            (process_cpu_seconds(pid) - before) / IDLE_SECONDS
            for pid, before in zip(servers.pids, idle_before, strict=True)
        ]
        metrics_before = await scrape(servers.urls, COUNTERS)
        cpu_before = [process_cpu_seconds(pid) for pid in servers.pids]
        started = time.perf_counter()
        phase = await fanout_phase(servers, api, groups, receiver, rate, seconds, drain_seconds)
        wall = time.perf_counter() - started
        cpu = [
            process_cpu_seconds(pid) - before
            for pid, before in zip(servers.pids, cpu_before, strict=True)
        ]
        metrics_after = await scrape(servers.urls, COUNTERS)
    finally:
        await bounded((sock.close() for sock in sockets), 200)
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    heard = _per_process(metrics_before, metrics_after, RECEIVED)
    known = [count for count in heard if count is not None]
    sent = max(1, phase["sent"])
    delivered = max(1, phase["delivered"])
    return {
        "params": {
            "users": users,
            "group_size": group_size,
            "rate": rate,
            "seconds": seconds,
            "placement": f"random (seed {PLACEMENT_SEED})",
        },
        "settle_seconds": round(settle_seconds, 1),
        "instances_per_group": _instances_per_group(groups),
        "sent": phase["sent"],
        "delivered": phase["delivered"],
        "lost": phase["lost"],
        "send_errors": phase["send_errors"],
        "e2e": phase["e2e"],
        "send": phase["send"],
        "server_cpu_seconds": [round(value, 2) for value in cpu],
        "window_seconds": round(wall, 1),
        "cpu_ms_per_delivered": round(sum(cpu) / delivered * 1000, 3),
        "idle_cpu_pct": [round(value * 100, 1) for value in idle],
        "traffic_cpu_ms_per_delivered": round((sum(cpu) - sum(idle) * wall) / delivered * 1000, 3),
        "envelopes_heard_per_process": heard,
        "envelopes_heard_per_message_sent": (
            round(sum(known) / sent, 2) if len(known) == len(heard) else None
        ),
        # How much each round trip carries (group commit, publish batches): what a busy
        # process amortises and a quiet one does not.
        "messages_per_transaction": _ratio(metrics_before, metrics_after, STORED, TRANSACTIONS),
        "envelopes_per_publish": _ratio(metrics_before, metrics_after, PUBLISHED, PUBLISHES),
    }


def _ratio(
    before: list[dict[str, float]], after: list[dict[str, float]], top: str, bottom: str
) -> float | None:
    """Σ growth of `top` / Σ growth of `bottom` over the processes; None when `bottom` did not
    grow (a counter an older checkout lacks). A labelled counter appears only once counted, so
    an absent one reads as 0."""

    def growth(name: str) -> float:
        return sum(a.get(name, 0.0) - b.get(name, 0.0) for b, a in zip(before, after, strict=True))

    return round(growth(top) / growth(bottom), 2) if growth(bottom) else None


def _per_process(
    before: list[dict[str, float]], after: list[dict[str, float]], name: str
) -> list[float | None]:
    return [
        round(a[name] - b[name]) if name in a and name in b else None
        for b, a in zip(before, after, strict=True)
    ]


def _instances_per_group(groups: list[BenchGroup]) -> float:
    """The mean number of processes a group's members sit on."""
    return round(sum(len({m.server for m in g.members}) for g in groups) / len(groups), 2)
