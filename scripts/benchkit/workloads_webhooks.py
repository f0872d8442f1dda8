"""`webhooks`: delivery lag and send latency with notifications on (issue 17, SPEC §13, §17).

33 groups of a doctor and two patients; the patients send open-loop over HTTP at a fixed total
rate. A receiver on 127.0.0.1 (in this process, raw asyncio HTTP) verifies every signature with
`standardwebhooks` and notes when each `message.created` arrived; the lag of a message is that
moment minus the answer of its send (its commit). Three runs on fresh servers: webhooks off,
a receiver answering 200 at once, and a receiver that never answers (every attempt runs into
`WEBHOOK_TIMEOUT`), to show that the send path is the same in all three.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from typing import Any

import httpx
from standardwebhooks import Webhook

from benchkit.api import Api, BenchUser
from benchkit.servers import ServerSet
from benchkit.stats import Recorder, summarize_ms
from benchkit.workloads_http import Window, measure, pace

MODES = ("off", "ok", "hanging")
GROUPS = 33
DRAIN_SECONDS = 30.0
SECRET = "whsec_" + base64.b64encode(b"bench webhook signing key 32 by.").decode()


class Receiver:
    """A webhook receiver (keep-alive HTTP/1.1); `hang`: read requests, never answer."""

    def __init__(self, *, hang: bool) -> None:
        self.hang = hang
        self.verifier = Webhook(SECRET)
        self.arrived: dict[str, float] = {}
        self.bad_signatures = 0
        self.requests = 0
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._stop = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers: dict[str, str] = {}
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name:
                        headers[name.strip().lower().decode()] = value.strip().decode()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests += 1
                if self.hang:
                    await self._stop.wait()
                    return
                self._record(body, headers)
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def _record(self, body: bytes, headers: dict[str, str]) -> None:
        now = time.perf_counter()
        try:
            event = self.verifier.verify(body, headers)
        except Exception:
            self.bad_signatures += 1
            return
        if event["type"] == "message.created":
            self.arrived.setdefault(event["data"]["message"]["message_id"], now)


def server_env(mode: str, receiver: Receiver | None) -> dict[str, str]:
    if mode == "off" or receiver is None:
        return {"WEBHOOK_URL": ""}
    return {"WEBHOOK_URL": receiver.url, "WEBHOOK_SECRET": SECRET, "WEBHOOK_TIMEOUT": "2"}


async def webhooks_load(
    servers: ServerSet,
    api: Api,
    receiver: Receiver | None,
    *,
    mode: str,
    rate: float,
    duration: float,
    warmup: float,
) -> dict[str, Any]:
    groups = await api.build_groups(GROUPS, 3)
    patients = [(member, group.group_id) for group in groups for member in group.members[1:]]
    interval = len(patients) / rate
    window = Window.after(warmup, duration)
    recorder = Recorder()
    committed: dict[str, float] = {}
    inflight: set[asyncio.Task[None]] = set()

    async def one(user: BenchUser, group_id: str, scheduled: float) -> None:
        try:
            message = await api.send(user, group_id, f"webhooks {scheduled:.6f}")
        except Exception as exc:
            recorder.fail("send", scheduled, repr(exc)[:200])
            return
        now = time.perf_counter()
        recorder.ok("send", scheduled, now - scheduled)
        if recorder.in_window(scheduled):
            committed[message["message_id"]] = now

    tasks = [
        asyncio.create_task(
            pace(interval, window.end, lambda at, u=user, g=gid: one(u, g, at), inflight)
        )
        for user, gid in patients
    ]
    extra = await measure(servers, recorder, window, *tasks, label=f"webhooks-{mode}")
    if inflight:
        await asyncio.wait(inflight, timeout=30)
    send = recorder.report(duration).get("send", {"count": 0, "errors": 0})
    result: dict[str, Any] = {
        "params": {"mode": mode, "rate": rate, "groups": GROUPS, "duration": duration},
        "send": send,
        "messages_in_window": len(committed),
        "errors": send.get("errors", 0),
        **extra,
    }
    if receiver is not None and mode == "ok":
        deadline = time.perf_counter() + DRAIN_SECONDS
        while time.perf_counter() < deadline:
            if all(m in receiver.arrived for m in committed):
                break
            await asyncio.sleep(0.2)
        lags = [receiver.arrived[m] - at for m, at in committed.items() if m in receiver.arrived]
        missing = len(committed) - len(lags)
        result["commit_to_webhook"] = summarize_ms(lags)
        result["webhooks_missing"] = missing
        result["bad_signatures"] = receiver.bad_signatures
        result["errors"] += missing + receiver.bad_signatures
    elif receiver is not None:
        result["receiver_requests"] = receiver.requests
    with contextlib.suppress(Exception):
        result["server_metrics"] = await _delivery_metrics(servers)
    return result


async def _delivery_metrics(servers: ServerSet) -> dict[str, float]:
    """`im_webhook_deliveries_total` by status, summed over the servers."""
    totals: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=5) as http:
        for url in servers.urls:
            text = (await http.get(f"{url}/metrics")).text
            for line in text.splitlines():
                if line.startswith("im_webhook_deliveries_total{"):
                    status = line.split('status="', 1)[1].split('"', 1)[0]
                    totals[status] = totals.get(status, 0.0) + float(line.rsplit(" ", 1)[1])
    return totals
