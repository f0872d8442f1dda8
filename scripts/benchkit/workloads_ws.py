"""WebSocket workloads: `fanout` (end-to-end latency, loss), `connections` (idle sockets, RSS)
and `ai` (patient send to first AI event, against a zero-latency stand-in AI)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import defaultdict
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

from benchkit.api import Api, BenchUser, bounded, open_socket
from benchkit.servers import ServerSet, StandInAI, raise_fd_limit
from benchkit.stats import CpuMeter, LoopLag, process_cpu_seconds, process_rss_kib, summarize_ms

MARK = "fo|"
WS_ACK_TIMEOUT = 30.0


class FanoutReceiver:
    """Collects every pushed bench message: latency from the send time in its content, and
    which users got which message_id (to count losses and duplicates). A socket that sent a
    message gets `message_sent` for it instead, which resolves the sender's wait (`ack`)."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.seen: dict[str, set[str]] = defaultdict(set)
        self.duplicates = 0
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def ack(self, client_msg_id: str) -> asyncio.Future[dict[str, Any]]:
        """The stored message once the sending socket gets `message_sent` for it."""
        future = self._acks[client_msg_id] = asyncio.get_running_loop().create_future()
        return future

    async def run(self, user: BenchUser, socket: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            async for raw in socket:
                now = time.time()
                event = orjson.loads(raw)
                kind = event.get("type")
                if kind == "error":
                    self._answer(event, RuntimeError(f"{event.get('code')}"))
                    continue
                if kind not in ("message", "message_sent"):
                    continue
                message = event["message"]
                if kind == "message_sent":
                    self._answer(event, message)
                content: str = message["msg_content"]
                if not content.startswith(MARK):
                    continue
                _, phase, sent = content.split("|", 2)
                seen = self.seen[message["message_id"]]
                if user.user_id in seen:
                    self.duplicates += 1
                    continue
                seen.add(user.user_id)
                self.latencies[phase].append(now - float(sent))

    def _answer(self, event: dict[str, Any], outcome: dict[str, Any] | Exception) -> None:
        future = self._acks.pop(event.get("client_msg_id") or "", None)
        if future is None or future.done():
            return
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


async def open_all(api: Api, users: list[BenchUser], compression: bool) -> list[ClientConnection]:
    return await bounded((open_socket(api, user, compression=compression) for user in users), 100)


async def fanout(
    servers: ServerSet,
    api: Api,
    *,
    users: int,
    group_size: int,
    rates: list[int],
    phase_seconds: float,
    drain_seconds: float,
    compression: bool,
    send_via: str = "http",
) -> dict[str, Any]:
    """Every user online; open-loop senders at each rate, over HTTP or on the sender's own
    socket (`send_via`); every member's socket gets every message (a sending socket gets it
    as `message_sent`)."""
    raise_fd_limit(users + 1000)
    groups = await api.build_groups(users // group_size, group_size)
    members = [member for group in groups for member in group.members]
    connect_started = time.perf_counter()
    sockets = await open_all(api, members, compression)
    connect_seconds = time.perf_counter() - connect_started
    by_user = {user.user_id: sock for user, sock in zip(members, sockets, strict=True)}
    receiver = FanoutReceiver()
    readers = [
        asyncio.create_task(receiver.run(user, sock))
        for user, sock in zip(members, sockets, strict=True)
    ]
    # Every connect makes the server look up co-members and push `presence` to them: let
    # that storm pass before measuring (it is reported as settle_seconds).
    settle_seconds = await wait_quiet(servers.pids)
    phases = []
    try:
        for rate in rates:
            phases.append(
                await fanout_phase(
                    servers,
                    api,
                    groups,
                    receiver,
                    rate,
                    phase_seconds,
                    drain_seconds,
                    sockets=by_user if send_via == "ws" else None,
                )
            )
    finally:
        await bounded((sock.close() for sock in sockets), 200)
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    return {
        "params": {
            "users": users,
            "groups": len(groups),
            "group_size": group_size,
            "phase_seconds": phase_seconds,
            "ws_compression": compression,
            "send_via": send_via,
        },
        "connect_seconds": round(connect_seconds, 1),
        "settle_seconds": round(settle_seconds, 1),
        "phases": phases,
        "duplicates": receiver.duplicates,
        "errors": sum(phase["send_errors"] for phase in phases),
        "lost": sum(phase["lost"] for phase in phases),
    }


async def wait_quiet(pids: list[int], busy: float = 0.15, longest: float = 20.0) -> float:
    """Wait until every server uses under `busy` of a core over 0.5 s; returns seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < longest:
        before = [process_cpu_seconds(pid) for pid in pids]
        await asyncio.sleep(0.5)
        if all(
            process_cpu_seconds(pid) - cpu < busy * 0.5
            for pid, cpu in zip(pids, before, strict=True)
        ):
            break
    return time.perf_counter() - started


async def fanout_phase(
    servers: ServerSet,
    api: Api,
    groups: list[Any],
    receiver: FanoutReceiver,
    rate: int,
    seconds: float,
    drain_seconds: float,
    *,
    sockets: dict[str, ClientConnection] | None = None,
) -> dict[str, Any]:
    """One rate: open-loop sends over HTTP, or on the sender's socket when `sockets` holds
    each user's; then wait (up to `drain_seconds`) for every member to have every message."""
    phase = str(rate)
    total = int(rate * seconds)
    sent: dict[str, int] = {}
    send_latencies: list[float] = []
    timeline: list[tuple[float, float]] = []  # (seconds into the phase, send latency)
    errors: list[str] = []
    tasks: list[asyncio.Task[None]] = []

    async def one(index: int) -> None:
        group = groups[index % len(groups)]
        sender = group.members[(index // len(groups)) % len(group.members)]
        started = time.perf_counter()
        content = f"{MARK}{phase}|{time.time():.6f}"
        try:
            if sockets is None:
                body = await api.send(sender, group.group_id, content)
            else:
                body = await _send_on_socket(
                    sockets[sender.user_id], receiver, group.group_id, content, f"{phase}-{index}"
                )
        except Exception as exc:
            errors.append(repr(exc)[:200])
            return
        send_latencies.append(time.perf_counter() - started)
        timeline.append((started - began, send_latencies[-1]))
        sent[body["message_id"]] = len(group.members)

    meter, lag = CpuMeter(servers.pids), LoopLag()
    servers.window_started(phase, seconds)
    meter.start()
    lag.start()
    began = time.perf_counter()
    for index in range(total):
        await asyncio.sleep(max(0.0, began + index / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(index)))
    offered_seconds = time.perf_counter() - began
    await asyncio.gather(*tasks)
    cpu = meter.stop()
    lag_report = await lag.stop()
    expected = sum(sent.values())
    deadline = time.perf_counter() + drain_seconds
    while time.perf_counter() < deadline:
        if sum(len(receiver.seen.get(mid, ())) for mid in sent) >= expected:
            break
        await asyncio.sleep(0.2)
    delivered = sum(min(len(receiver.seen.get(mid, ())), want) for mid, want in sent.items())
    return {
        "rate": rate,
        "sent": len(sent),
        "achieved_rate": round(len(sent) / offered_seconds, 1),
        "send_errors": len(errors),
        "error_samples": errors[:3],
        "send": summarize_ms(send_latencies),
        "send_p99_by_second": _by_second(timeline),
        "e2e": summarize_ms(receiver.latencies.get(phase, [])),
        "expected": expected,
        "delivered": delivered,
        "lost": expected - delivered,
        **cpu,
        **lag_report,
    }


async def _send_on_socket(
    socket: ClientConnection,
    receiver: FanoutReceiver,
    group_id: str,
    content: str,
    client_msg_id: str,
) -> dict[str, Any]:
    acked = receiver.ack(client_msg_id)
    frame = {
        "type": "send_message",
        "group_id": group_id,
        "content": content,
        "client_msg_id": client_msg_id,
    }
    await socket.send(orjson.dumps(frame).decode())
    return await asyncio.wait_for(acked, WS_ACK_TIMEOUT)


def _by_second(timeline: list[tuple[float, float]]) -> list[float]:
    """Send p99 (ms) for each second of the phase: shows whether a tail is a burst or steady."""
    buckets: dict[int, list[float]] = defaultdict(list)
    for offset, latency in timeline:
        buckets[int(offset)].append(latency)
    return [summarize_ms(buckets[second])["p99_ms"] for second in sorted(buckets)]


async def connections(
    servers: ServerSet,
    api: Api,
    *,
    target: int,
    users: int,
    step: int,
    compression: bool,
) -> dict[str, Any]:
    """Open idle sockets `step` at a time up to `target` (users without groups, several
    sockets each), reading the servers' VmRSS after each step; then check they still answer."""
    limit = raise_fd_limit(target + 1000)
    people = await api.create_users(users, "PATIENT")
    await asyncio.sleep(1.0)
    base_rss = [process_rss_kib(pid) for pid in servers.pids]
    sockets: list[ClientConnection] = []
    steps: list[dict[str, Any]] = []
    failures: list[str] = []

    async def try_open(index: int) -> ClientConnection | None:
        try:
            return await open_socket(api, people[index % len(people)], compression=compression)
        except Exception as exc:
            failures.append(repr(exc)[:200])
            return None

    try:
        while len(sockets) < target:
            batch = min(step, target - len(sockets))
            started = time.perf_counter()
            opened = await bounded((try_open(len(sockets) + i) for i in range(batch)), 100)
            sockets.extend(sock for sock in opened if sock is not None)
            await asyncio.sleep(0.5)
            steps.append(
                {
                    "connections": len(sockets),
                    "open_per_s": round(batch / (time.perf_counter() - started - 0.5), 1),
                    "rss_kib": [process_rss_kib(pid) for pid in servers.pids],
                }
            )
            if len(failures) > max(10, batch // 100):
                break
        await asyncio.sleep(3.0)
        health = await _health_connections(api)
        pings = await _ping_sample(random.sample(sockets, min(200, len(sockets))))
        final_rss = [process_rss_kib(pid) for pid in servers.pids]
    finally:
        await bounded((sock.close() for sock in sockets), 200)
    grown = sum(final_rss) - sum(base_rss)
    return {
        "params": {"target": target, "users": users, "ws_compression": compression},
        "client_fd_limit": limit,
        "held": len(sockets),
        "server_reported": health,
        "open_failures": len(failures),
        "failure_samples": failures[:3],
        "base_rss_kib": base_rss,
        "final_rss_kib": final_rss,
        "kib_per_connection": round(grown / max(1, len(sockets)), 1),
        "ping_rtt": pings,
        "steps": steps,
        "errors": len(failures),
    }


async def _health_connections(api: Api) -> list[int]:
    counts = []
    for client in api.clients:
        response = await client.get("/health")
        counts.append(int(response.json().get("connections", -1)))
    return counts


async def _ping_sample(sockets: list[ClientConnection]) -> dict[str, Any]:
    """Round trip of an application `ping` on a sample of the idle sockets."""

    async def one(sock: ClientConnection) -> float:
        started = time.perf_counter()
        await sock.send('{"type":"ping"}')
        while True:
            event = orjson.loads(await asyncio.wait_for(sock.recv(), 10))
            if event.get("type") == "pong":
                return time.perf_counter() - started

    results = await asyncio.gather(*(one(sock) for sock in sockets), return_exceptions=True)
    ok = [value for value in results if isinstance(value, float)]
    return {**summarize_ms(ok), "failed": len(results) - len(ok)}


AI_EVENTS = {"ai_status", "ai_reply_delta"}


async def ai_first_event(
    servers: ServerSet, api: Api, stub: StandInAI, *, sends: int, groups: int, event_timeout: float
) -> dict[str, Any]:
    """A patient sends over HTTP, one send at a time; we time the first AI event the patient's
    socket gets for that group (`ai_status`, `ai_reply_delta` or the assistant's message)."""
    built = await api.build_groups(groups, 2)
    patients = [group.members[1] for group in built]
    sockets = await open_all(api, patients, compression=True)
    queues: dict[str, asyncio.Queue[tuple[float, str]]] = {
        g.group_id: asyncio.Queue() for g in built
    }

    async def listen(sock: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            async for raw in sock:
                now = time.perf_counter()
                event = orjson.loads(raw)
                kind = event.get("type")
                if kind in AI_EVENTS:
                    queues[event["group_id"]].put_nowait((now, kind))
                elif kind == "message" and event["message"]["from_user_role"] == "AI_ASSISTANT":
                    queues[event["message"]["group_id"]].put_nowait((now, "ai_message"))

    listeners = [asyncio.create_task(listen(sock)) for sock in sockets]
    from_send: list[float] = []
    from_commit: list[float] = []
    to_reply: list[float] = []
    first_kinds: dict[str, int] = defaultdict(int)
    misses = 0
    try:
        for index in range(sends):
            group = built[index % len(built)]
            queue = queues[group.group_id]
            while not queue.empty():
                queue.get_nowait()
            started = time.perf_counter()
            await api.send(group.members[1], group.group_id, f"ai bench {index}")
            committed = time.perf_counter()
            try:
                at, kind = await asyncio.wait_for(queue.get(), event_timeout)
            except TimeoutError:
                misses += 1
                if misses >= 5 and stub.calls == 0:
                    break
                continue
            first_kinds[kind] += 1
            from_send.append(at - started)
            from_commit.append(at - committed)
            while kind != "ai_message":
                try:
                    at, kind = await asyncio.wait_for(queue.get(), event_timeout)
                except TimeoutError:
                    break
            if kind == "ai_message":
                to_reply.append(at - started)
            await asyncio.sleep(0.01)
    finally:
        await bounded((sock.close() for sock in sockets), 100)
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
    status = "ok" if from_send else "AI layer not present: no AI event, stand-in AI never called"
    if not from_send and stub.calls:
        status = f"no AI event although the stand-in AI was called {stub.calls} times"
    return {
        "params": {"sends": sends, "groups": groups, "timeout_s": event_timeout},
        "status": status,
        "stub_calls": stub.calls,
        "misses": misses,
        "first_event_kinds": dict(first_kinds),
        "commit_to_first_ai_event": summarize_ms(from_commit),
        "send_to_first_ai_event": summarize_ms(from_send),
        "send_to_ai_message": summarize_ms(to_reply),
        "errors": misses,
    }
