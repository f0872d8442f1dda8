"""The `login` workload: login latency (argon2id is deliberately slow) and, in the same run, the
send latency of other users, alone and while logins run, to show that hashing (in its own
thread pool) never delays sends."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from typing import Any

from benchkit.api import Api, BenchGroup, BenchUser, bounded
from benchkit.servers import ServerSet
from benchkit.stats import Recorder
from benchkit.workloads_http import Window, measure

PASSWORD = "bench password 0123"  # noqa: S105 - a throwaway account's password


async def _sign_up(api: Api, index: int) -> tuple[str, int]:
    server = index % len(api.urls)
    name = f"bench_login_{index}"
    client = api.pools[server][index % len(api.pools[server])]
    body = {"username": name, "user_role": "PATIENT", "login": name, "password": PASSWORD}
    response = await client.post("/api/user/create", json=body)
    response.raise_for_status()
    return name, server


async def _phase(
    servers: ServerSet,
    api: Api,
    groups: list[BenchGroup],
    *,
    per_user_rate: float,
    accounts: list[tuple[str, int]],
    login_clients: int,
    duration: float,
    warmup: float,
    label: str,
) -> dict[str, Any]:
    """Paced sends (open loop, latency from the scheduled time) for the window; with
    `login_clients`, that many closed loops of `POST /api/auth/login` run alongside."""
    window = Window.after(warmup, duration)
    recorder = Recorder()
    interval = 1.0 / per_user_rate
    inflight: set[asyncio.Task[None]] = set()

    async def send(user: BenchUser, group_id: str, scheduled: float) -> None:
        try:
            await api.send(user, group_id, f"login-mix {scheduled:.6f}")
        except Exception as exc:
            recorder.fail("send", scheduled, repr(exc)[:200])
            return
        recorder.ok("send", scheduled, time.perf_counter() - scheduled)

    async def sender(user: BenchUser, group_id: str) -> None:
        scheduled = time.perf_counter() + random.uniform(0, interval)
        while scheduled < window.end:
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            task = asyncio.create_task(send(user, group_id, scheduled))
            inflight.add(task)
            task.add_done_callback(inflight.discard)
            scheduled += interval

    picks = itertools.cycle(accounts)

    async def login_loop() -> None:
        while time.perf_counter() < window.end:
            name, server = next(picks)
            started = time.perf_counter()
            client = api.pools[server][hash(name) % len(api.pools[server])]
            try:
                response = await client.post(
                    "/api/auth/login", json={"login": name, "password": PASSWORD}
                )
                response.raise_for_status()
            except Exception as exc:
                recorder.fail("login", started, repr(exc)[:200])
                await asyncio.sleep(0.05)
                continue
            recorder.ok("login", started, time.perf_counter() - started)

    tasks = [
        asyncio.create_task(sender(member, group.group_id))
        for group in groups
        for member in group.members
    ]
    tasks += [asyncio.create_task(login_loop()) for _ in range(login_clients)]
    extra = await measure(servers, recorder, window, *tasks, label=label)
    if inflight:
        await asyncio.wait(inflight, timeout=30)
    return {**recorder.report(duration), **extra}


async def login_mix(
    servers: ServerSet,
    api: Api,
    *,
    accounts: int,
    login_clients: int,
    senders: int,
    group_size: int,
    per_user_rate: float,
    duration: float,
    warmup: float,
) -> dict[str, Any]:
    groups = await api.build_groups(senders // group_size, group_size)
    signed_up = await bounded(_sign_up(api, index) for index in range(accounts))
    common: dict[str, Any] = {"per_user_rate": per_user_rate, "duration": duration}
    alone = await _phase(
        servers,
        api,
        groups,
        accounts=signed_up,
        login_clients=0,
        warmup=warmup,
        label="alone",
        **common,
    )
    mixed = await _phase(
        servers,
        api,
        groups,
        accounts=signed_up,
        login_clients=login_clients,
        warmup=warmup,
        label="logins",
        **common,
    )
    empty = {"count": 0, "errors": 0}
    result = {
        "params": {
            "accounts": accounts,
            "login_clients": login_clients,
            "senders": senders,
            "send_rate": senders * per_user_rate,
            "duration": duration,
        },
        "send_alone": alone.get("send", empty),
        "send_during_logins": mixed.get("send", empty),
        "login": mixed.get("login", empty),
        "server_cpu_pct_alone": alone["server_cpu_pct"],
        "server_cpu_pct": mixed["server_cpu_pct"],
        "server_runq_wait_pct": mixed["server_runq_wait_pct"],
        "client_cpu_pct": mixed["client_cpu_pct"],
        "loadavg_1m": [alone["loadavg_1m"], mixed["loadavg_1m"]],
    }
    result["errors"] = sum(
        result[key].get("errors", 0) for key in ("send_alone", "send_during_logins", "login")
    )
    return result
