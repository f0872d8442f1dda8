"""The service's HTTP API and WebSocket as a benchmark client uses them: users, groups, sockets.

Set-up goes through the public API only (SPEC §5), spread over every server of the deployment.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from benchkit.rawhttp import RawHttp

T = TypeVar("T")
SETUP_CONCURRENCY = 32
_names = itertools.count()


@dataclass(frozen=True)
class BenchUser:
    user_id: str
    token: str
    role: str
    server: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class BenchGroup:
    group_id: str
    members: list[BenchUser] = field(default_factory=list)


async def bounded(coros: Iterable[Awaitable[T]], limit: int = SETUP_CONCURRENCY) -> list[T]:
    """Run awaitables with at most `limit` in flight; results in order."""
    semaphore = asyncio.Semaphore(limit)

    async def run(coro: Awaitable[T]) -> T:
        async with semaphore:
            return await coro

    return list(await asyncio.gather(*(run(coro) for coro in coros)))


class Api:
    """Small httpx pools per server; user i lives on server i % len(urls).

    httpcore scans its whole pool on every request (O(connections)), so one client with
    hundreds of connections burns the client's CPU; many 4-connection clients do not.
    """

    POOLS_PER_SERVER = 64
    CONNECTIONS_PER_POOL = 4

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        limits = httpx.Limits(
            max_connections=self.CONNECTIONS_PER_POOL,
            max_keepalive_connections=self.CONNECTIONS_PER_POOL,
            # Below uvicorn's 5 s keep-alive: the client drops an idle connection before the
            # server does, so a POST never races a server-side close (a spurious ReadError).
            keepalive_expiry=3.0,
        )
        self.pools = [
            [
                httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits)
                for _ in range(self.POOLS_PER_SERVER)
            ]
            for url in urls
        ]
        self.clients = [pools[0] for pools in self.pools]
        self.raw = [RawHttp(url) for url in urls]
        self._next = itertools.count()

    def client(self, user: BenchUser) -> httpx.AsyncClient:
        pools = self.pools[user.server % len(self.pools)]
        return pools[hash(user.user_id) % len(pools)]

    def ws_url(self, user: BenchUser) -> str:
        base = self.urls[user.server % len(self.urls)].replace("http://", "ws://")
        return f"{base}/ws/{user.user_id}?token={user.token}"

    async def close(self) -> None:
        for raw in self.raw:
            raw.close()
        await asyncio.gather(*(client.aclose() for pools in self.pools for client in pools))

    async def get_json(self, user: BenchUser, path: str) -> dict[str, Any]:
        """A measured GET over the raw keep-alive client (set-up keeps using httpx)."""
        raw = self.raw[user.server % len(self.raw)]
        status, body = await raw.request(user.user_id, "GET", path, user.token)
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status} {body[:120]!r}")
        result: dict[str, Any] = orjson.loads(body)
        return result

    async def create_user(self, role: str, server: int) -> BenchUser:
        pools = self.pools[server % len(self.pools)]
        client = pools[next(self._next) % len(pools)]
        name = f"bench{next(_names)}"
        response = await client.post("/api/user/create", json={"username": name, "user_role": role})
        response.raise_for_status()
        body = response.json()
        return BenchUser(body["user_id"], body["access_token"], role, server)

    async def create_users(self, count: int, role: str, first_index: int = 0) -> list[BenchUser]:
        return await bounded(self.create_user(role, first_index + index) for index in range(count))

    async def create_group(self, doctor: BenchUser, name: str) -> str:
        response = await self.client(doctor).post(
            "/api/group/create", json={"group_name": name}, headers=doctor.headers
        )
        response.raise_for_status()
        group_id: str = response.json()["group_id"]
        return group_id

    async def add_member(self, doctor: BenchUser, group_id: str, user: BenchUser) -> None:
        response = await self.client(doctor).post(
            f"/api/group/{group_id}/members", json={"user_id": user.user_id}, headers=doctor.headers
        )
        response.raise_for_status()

    async def build_groups(self, groups: int, size: int) -> list[BenchGroup]:
        """`groups` groups of `size` members: one DOCTOR (creator) and size-1 PATIENTs."""
        doctors = await self.create_users(groups, "DOCTOR", first_index=0)
        patients = await self.create_users(groups * (size - 1), "PATIENT", first_index=groups)
        group_ids = await bounded(
            self.create_group(doctor, f"bench group {index}")
            for index, doctor in enumerate(doctors)
        )
        result = [BenchGroup(gid, [doctor]) for gid, doctor in zip(group_ids, doctors, strict=True)]
        for index, patient in enumerate(patients):
            result[index % groups].members.append(patient)
        await bounded(
            self.add_member(group.members[0], group.group_id, member)
            for group in result
            for member in group.members[1:]
        )
        return result

    async def ask_copilot(self, doctor: BenchUser, group_id: str, what: str) -> str:
        """`POST /api/ai/summary` or `/api/ai/suggest`; the record's id."""
        raw = self.raw[doctor.server % len(self.raw)]
        payload = orjson.dumps({"group_id": group_id})
        status, body = await raw.request(
            doctor.user_id, "POST", f"/api/ai/{what}", doctor.token, payload
        )
        if status != 202:
            raise RuntimeError(f"copilot {what}: HTTP {status} {body[:120]!r}")
        record_id: str = orjson.loads(body)["record_id"]
        return record_id

    async def send(self, user: BenchUser, group_id: str, content: str) -> dict[str, Any]:
        raw = self.raw[user.server % len(self.raw)]
        payload = orjson.dumps({"group_id": group_id, "content": content})
        status, body = await raw.request(
            user.user_id, "POST", "/api/message/send", user.token, payload
        )
        if status != 201:
            raise RuntimeError(f"send: HTTP {status} {body[:120]!r}")
        result: dict[str, Any] = orjson.loads(body)
        return result


async def open_socket(api: Api, user: BenchUser, *, compression: bool) -> ClientConnection:
    """A WebSocket for `user`, returned once the server's `connected` event has arrived."""
    socket = await connect(
        api.ws_url(user),
        ping_interval=None,
        open_timeout=30,
        close_timeout=2,
        max_size=2**20,
        compression="deflate" if compression else None,
    )
    first = orjson.loads(await asyncio.wait_for(socket.recv(), 30))
    if first.get("type") != "connected":
        await socket.close()
        raise RuntimeError(f"expected connected, got {first.get('type')}")
    return socket
