"""HTTP workloads: `send` (closed loop), `send-paced` (open loop) and `history` (readers)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from benchkit.api import Api, BenchGroup, BenchUser
from benchkit.servers import ServerSet
from benchkit.stats import CpuMeter, LoopLag, Recorder, summarize_ms

ERROR_BACKOFF = 0.05


@dataclass
class Window:
    """The measured window: [start + warmup, start + warmup + duration)."""

    start: float
    end: float

    @classmethod
    def after(cls, warmup: float, duration: float) -> Window:
        start = time.perf_counter() + warmup
        return cls(start, start + duration)


async def measure(
    servers: ServerSet,
    recorder: Recorder,
    window: Window,
    *tasks: asyncio.Task[Any],
    label: str = "window",
) -> dict[str, Any]:
    """Run `tasks` to completion; CPU and client lag are sampled over the window only."""
    recorder.window_start, recorder.window_end = window.start, window.end
    meter, lag = CpuMeter(servers.pids, servers.worker_pids), LoopLag()
    await asyncio.sleep(max(0.0, window.start - time.perf_counter()))
    servers.window_started(label, window.end - window.start)
    meter.start()
    lag.start()
    await asyncio.sleep(max(0.0, window.end - time.perf_counter()))
    cpu = meter.stop()
    lag_report = await lag.stop()
    await asyncio.gather(*tasks)
    return {**cpu, **lag_report}


async def pace(
    interval: float,
    until: float,
    fire: Callable[[float], Coroutine[Any, Any, None]],
    inflight: set[asyncio.Task[None]],
) -> None:
    """Open loop: call `fire(scheduled)` every `interval` s from a random start until `until`,
    whatever the server does (each call a task of its own, kept in `inflight`)."""
    scheduled = time.perf_counter() + random.uniform(0, interval)
    while scheduled < until:
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        task = asyncio.create_task(fire(scheduled))
        inflight.add(task)
        task.add_done_callback(inflight.discard)
        scheduled += interval


async def _send_once(api: Api, recorder: Recorder, user: BenchUser, group_id: str) -> bool:
    started = time.perf_counter()
    try:
        await api.send(user, group_id, f"closed-loop {started:.6f}")
    except Exception as exc:
        recorder.fail("send", started, repr(exc)[:200])
        return False
    recorder.ok("send", started, time.perf_counter() - started)
    return True


async def send_closed(
    servers: ServerSet, api: Api, *, users: int, group_size: int, duration: float, warmup: float
) -> dict[str, Any]:
    """Every user sends to its group as fast as the server answers, one request at a time."""
    groups = await api.build_groups(users // group_size, group_size)
    window = Window.after(warmup, duration)
    recorder = Recorder()

    async def user_loop(user: BenchUser, group_id: str) -> None:
        while time.perf_counter() < window.end:
            if not await _send_once(api, recorder, user, group_id):
                await asyncio.sleep(ERROR_BACKOFF)

    tasks = [
        asyncio.create_task(user_loop(member, group.group_id))
        for group in groups
        for member in group.members
    ]
    extra = await measure(servers, recorder, window, *tasks)
    stats = recorder.report(duration)
    return _send_result(stats, extra, users=users, groups=len(groups), duration=duration)


def _send_result(stats: dict[str, Any], extra: dict[str, Any], **params: Any) -> dict[str, Any]:
    send = stats.get("send", {"count": 0, "errors": 0})
    return {"params": params, "send": send, "errors": send.get("errors", 0), **extra}


async def send_paced(
    servers: ServerSet,
    api: Api,
    *,
    users: int,
    group_size: int,
    per_user_rate: float,
    duration: float,
    warmup: float,
) -> dict[str, Any]:
    """Open loop: each user sends every 1/rate s whatever the server does; latency is
    measured from the scheduled time, so a stalled server or client cannot hide it."""
    groups = await api.build_groups(users // group_size, group_size)
    window = Window.after(warmup, duration)
    recorder = Recorder()
    interval = 1.0 / per_user_rate
    inflight: set[asyncio.Task[None]] = set()

    async def one(user: BenchUser, group_id: str, scheduled: float) -> None:
        try:
            await api.send(user, group_id, f"paced {scheduled:.6f}")
        except Exception as exc:
            recorder.fail("send", scheduled, repr(exc)[:200])
            return
        recorder.ok("send", scheduled, time.perf_counter() - scheduled)

    tasks = [
        asyncio.create_task(
            pace(
                interval,
                window.end,
                lambda at, user=member, gid=group.group_id: one(user, gid, at),
                inflight,
            )
        )
        for group in groups
        for member in group.members
    ]
    extra = await measure(servers, recorder, window, *tasks)
    if inflight:
        await asyncio.wait(inflight, timeout=30)
    stats = recorder.report(duration)
    return _send_result(
        stats,
        extra,
        users=users,
        groups=len(groups),
        target_rate=users * per_user_rate,
        duration=duration,
    )


async def seed_messages(database_url: str, group: BenchGroup, count: int) -> float:
    """Insert `count` TEXT messages straight into the database (seconds taken): seqs follow
    the group's `last_seq`, which is bumped in the same transaction, as the service does."""
    from app.config import Settings
    from app.db.database import create_engine
    from app.models import Message
    from app.repositories.group_repository import GroupRepository
    from app.utils.id_generator import generate_message_id

    started = time.perf_counter()
    engine = create_engine(Settings(_env_file=None, database_url=database_url))
    try:
        async with AsyncSession(engine) as session, session.begin():
            reserved = await GroupRepository(session).reserve_seqs(group.group_id, count)
            if reserved is None:
                raise RuntimeError(f"group {group.group_id} vanished")
            first = reserved[0] - count + 1
            senders = group.members
            rows = [
                {
                    "message_id": generate_message_id(),
                    "group_id": group.group_id,
                    "seq": first + index,
                    "from_user_id": senders[index % len(senders)].user_id,
                    "from_user_role": senders[index % len(senders)].role,
                    "msg_type": "TEXT",
                    "msg_content": f"history message {index} " + "lorem ipsum " * 8,
                }
                for index in range(count)
            ]
            for chunk in range(0, count, 2000):
                await session.execute(insert(Message), rows[chunk : chunk + 2000])
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def history(
    servers: ServerSet,
    api: Api,
    *,
    readers: int,
    messages: int,
    duration: float,
    warmup: float,
) -> dict[str, Any]:
    """`readers` members of one group open its newest page, then scroll back with
    `before_seq` (1-10 pages of 50), and start again: a closed loop per reader."""
    (group,) = await api.build_groups(1, readers)
    seed_seconds = await seed_messages(servers.database_url, group, messages)
    window = Window.after(warmup, duration)
    recorder = Recorder()
    base = f"/api/message/list?group_id={group.group_id}"

    async def get(user: BenchUser, name: str, query: str) -> dict[str, Any] | None:
        started = time.perf_counter()
        try:
            body = await api.get_json(user, base + query)
        except Exception as exc:
            recorder.fail(name, started, repr(exc)[:200])
            await asyncio.sleep(ERROR_BACKOFF)
            return None
        recorder.ok(name, started, time.perf_counter() - started)
        return body

    async def reader(user: BenchUser) -> None:
        while time.perf_counter() < window.end:
            page = await get(user, "list_page", "&page=1&page_size=20")
            if not page or not page["messages"]:
                continue
            cursor = page["messages"][-1]["seq"]
            for _ in range(random.randint(1, 10)):
                older = await get(user, "list_before_seq", f"&before_seq={cursor}&limit=50")
                if not older or not older["messages"] or time.perf_counter() >= window.end:
                    break
                cursor = older["messages"][-1]["seq"]

    tasks = [asyncio.create_task(reader(member)) for member in group.members]
    extra = await measure(servers, recorder, window, *tasks)
    stats = recorder.report(duration)
    every = [value for values in recorder.latencies.values() for value in values]
    overall = {
        **summarize_ms(every),
        "per_s": round(len(every) / duration, 1),
        "errors": sum(recorder.errors.values()),
    }
    return {
        "params": {"readers": readers, "messages": messages, "duration": duration},
        "seed_seconds": round(seed_seconds, 2),
        "all": overall,
        **stats,
        "errors": overall["errors"],
        **extra,
    }
