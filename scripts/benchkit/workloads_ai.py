"""`ai-load`: the default shape with the AI on (issue 12, SPEC §17).

33 groups of a doctor and two patients; the patients send open-loop over HTTP at a fixed total
rate, and every patient message goes to the AI. The doctors' sockets time, for each message,
the first AI event (`ai_status` PROCESSING or a delta) after the send's answer (its commit), and
count the replies. The same run is made with the AI off, with the built-in `mock`, and with a
stand-in that streams like a real provider (OpenAI chat-completions SSE, 20 pieces over 1 s),
each on fresh servers, so the three are side by side on one machine in one session.

`copilot` (SPEC §15) is `stream` while every doctor also asks for a summary every
`copilot_every` seconds (streamed by the same stand-in): the send path's figures beside
`stream`'s show what the copilot costs the sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

from benchkit.api import Api, BenchUser, bounded, open_socket
from benchkit.servers import ServerSet, read_request
from benchkit.stats import Recorder, summarize_ms
from benchkit.workloads_http import Window, measure, pace

AI_MODES = ("off", "mock", "stream")
"""Run by default; `copilot` on request (`--ai-modes stream,copilot`)."""
STREAMING_MODES = ("stream", "copilot")
GROUPS = 33
DRAIN_SECONDS = 20.0
COPILOT_EVERY_SECONDS = 4.0
"""Each doctor's summaries: 33 doctors make about 8 summaries a second."""


class StreamingStandIn:
    """An OpenAI-compatible chat-completions endpoint on 127.0.0.1 that streams its answer in
    `pieces` SSE chunks spread over `seconds`, like a real model (one connection per call)."""

    def __init__(self, pieces: int = 20, seconds: float = 1.0) -> None:
        self.pieces = pieces
        self.gap = seconds / pieces
        self.port = 0
        self.calls = 0
        self._server: asyncio.base_events.Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await read_request(reader)
            self.calls += 1
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
            )
            for index in range(self.pieces):
                await asyncio.sleep(self.gap)
                writer.write(_chunk({"content": f"piece {index} of a streamed answer. "}))
                await writer.drain()
            writer.write(_chunk({}, finish_reason="stop") + b"data: [DONE]\n\n")
            await writer.drain()
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            asyncio.LimitOverrunError,
            RuntimeError,  # uvloop: a write to a connection the server already closed
        ):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def _chunk(delta: dict[str, str], finish_reason: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "bench-stream",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"


def server_env(mode: str, stand_in: StreamingStandIn | None) -> dict[str, str]:
    if mode == "off":
        return {"AI_ENABLED": "false"}
    if mode == "mock":
        return {"AI_ENABLED": "true", "AI_PROVIDER": "mock"}
    if stand_in is None:
        raise RuntimeError(f"the {mode} mode needs the streaming stand-in")
    env = {
        "AI_ENABLED": "true",
        "AI_PROVIDER": "openai",
        "AI_SERVICE_URL": stand_in.base_url,
        "AI_SERVICE_API_KEY": "bench",
        "AI_MODEL": "bench-stream",
    }
    if mode == "copilot":
        env["AI_COPILOT_PER_MINUTE"] = "0"  # the load is the point: no per-doctor limit
    return env


class AIWatch:
    """What the doctors' sockets see: per patient message, when its first AI event and its AI
    outcome (SUCCESS / FAILED) arrived, and which patient messages were pushed at all."""

    def __init__(self) -> None:
        self.first_ai_event: dict[str, float] = {}
        self.outcomes: dict[str, str] = {}
        self.pushed: set[str] = set()
        self.copilot: dict[str, int] = {}
        """Copilot outcomes (`ai_copilot` status) the doctors saw."""

    def on_event(self, event: dict[str, Any], now: float) -> None:
        kind = event.get("type")
        if kind == "ai_copilot":
            self.copilot[event["status"]] = self.copilot.get(event["status"], 0) + 1
        elif kind in ("ai_status", "ai_reply_delta"):
            message_id = event.get("user_message_id", "")
            self.first_ai_event.setdefault(message_id, now)
            if kind == "ai_status" and event["status"] in ("SUCCESS", "FAILED"):
                self.outcomes[message_id] = event["status"]
        elif kind == "message" and event["message"]["from_user_role"] == "PATIENT":
            self.pushed.add(event["message"]["message_id"])


async def ai_load(
    servers: ServerSet,
    api: Api,
    *,
    mode: str,
    rate: float,
    duration: float,
    warmup: float,
    copilot_every: float = COPILOT_EVERY_SECONDS,
) -> dict[str, Any]:
    groups = await api.build_groups(GROUPS, 3)
    doctors = [group.members[0] for group in groups]
    sockets = await bounded((open_socket(api, doctor, compression=True) for doctor in doctors), 50)
    watch = AIWatch()
    listeners = [asyncio.create_task(_listen(sock, watch.on_event)) for sock in sockets]
    patients = [(member, group.group_id) for group in groups for member in group.members[1:]]
    interval = len(patients) / rate
    window = Window.after(warmup, duration)
    recorder = Recorder()
    committed: dict[str, float] = {}
    spoken: set[str] = set()
    inflight: set[asyncio.Task[None]] = set()

    async def one(user: BenchUser, group_id: str, scheduled: float) -> None:
        try:
            message = await api.send(user, group_id, f"ai-load {scheduled:.6f}")
        except Exception as exc:
            recorder.fail("send", scheduled, repr(exc)[:200])
            return
        now = time.perf_counter()
        spoken.add(group_id)
        recorder.ok("send", scheduled, now - scheduled)
        if recorder.in_window(scheduled):
            committed[message["message_id"]] = now

    asked = 0

    async def summary(doctor: BenchUser, group_id: str, scheduled: float) -> None:
        """From the window on, once the group has a message to summarise."""
        nonlocal asked
        if scheduled < window.start or group_id not in spoken:
            return
        try:
            await api.ask_copilot(doctor, group_id, "summary")
        except Exception as exc:
            recorder.fail("copilot", scheduled, repr(exc)[:200])
            return
        asked += 1

    try:
        tasks = [
            asyncio.create_task(
                pace(interval, window.end, lambda at, u=user, g=gid: one(u, g, at), inflight)
            )
            for user, gid in patients
        ]
        if mode == "copilot":
            tasks += [
                asyncio.create_task(
                    pace(
                        copilot_every,
                        window.end,
                        lambda at, d=doctor, g=group.group_id: summary(d, g, at),
                        inflight,
                    )
                )
                for doctor, group in zip(doctors, groups, strict=True)
            ]
        extra = await measure(servers, recorder, window, *tasks, label=f"{mode}-{rate:g}")
        if inflight:
            await asyncio.wait(inflight, timeout=30)
        await _drain(watch, committed, ai_on=mode != "off")
        await _drain_copilot(watch, asked)
    finally:
        await bounded((sock.close() for sock in sockets), 100)
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
    stats = recorder.report(duration)
    send = stats.get("send", {"count": 0, "errors": 0})
    first = [
        watch.first_ai_event[m] - at for m, at in committed.items() if m in watch.first_ai_event
    ]
    lost_pushes = [m for m in committed if m not in watch.pushed]
    result: dict[str, Any] = {
        "params": {"mode": mode, "rate": rate, "groups": GROUPS, "duration": duration},
        **({"copilot_every": copilot_every} if mode == "copilot" else {}),
        "send": send,
        "messages_in_window": len(committed),
        "not_pushed": len(lost_pushes),
        "errors": send.get("errors", 0) + len(lost_pushes),
        **extra,
    }
    if mode == "copilot":
        result["copilot_asked"] = asked
        result["copilot_outcomes"] = watch.copilot
        result["errors"] += stats.get("copilot", {}).get("errors", 0)
    if mode != "off":
        outcomes = [watch.outcomes.get(m) for m in committed]
        result["commit_to_first_ai_event"] = summarize_ms(first)
        result["ai_success"] = outcomes.count("SUCCESS")
        result["ai_failed"] = outcomes.count("FAILED")
        result["ai_missing"] = outcomes.count(None)
        result["errors"] += result["ai_failed"] + result["ai_missing"]
    return result


async def _listen(
    sock: ClientConnection, on_event: Callable[[dict[str, Any], float], None]
) -> None:
    with contextlib.suppress(Exception):
        async for raw in sock:
            on_event(orjson.loads(raw), time.perf_counter())


async def _drain_copilot(watch: AIWatch, asked: int) -> None:
    """Wait (bounded) until every summary asked for has ended."""
    deadline = time.perf_counter() + DRAIN_SECONDS
    while time.perf_counter() < deadline:
        if sum(watch.copilot.values()) >= asked:
            return
        await asyncio.sleep(0.2)


async def _drain(watch: AIWatch, committed: dict[str, float], *, ai_on: bool) -> None:
    """Wait (bounded) until every message of the window was pushed and, with the AI on,
    answered."""
    deadline = time.perf_counter() + DRAIN_SECONDS
    while time.perf_counter() < deadline:
        pushed = all(m in watch.pushed for m in committed)
        answered = not ai_on or all(m in watch.outcomes for m in committed)
        if pushed and answered:
            return
        await asyncio.sleep(0.2)
