"""Locust load test (SPEC §9): HTTP users (send, list, get) and WebSocket users (end-to-end
latency of pushed messages). Not a pytest module; run it with `make load` or

    .venv/bin/locust -f tests/locustfile.py --headless -u 100 -r 20 -t 60s \
        --host http://127.0.0.1:8000

against a server started with RATE_LIMIT_MESSAGES_PER_MINUTE=0 (or a limit above the load).
LOCUST_HOSTS=http://a,http://b spreads the users over several processes of one deployment.
Set-up goes through the HTTP API at test start: one DOCTOR creates LOCUST_GROUPS groups, and
every simulated user signs up and is added to one of them. Message contents carry their send
time (`locust|<epoch seconds>`), so WebSocket users report send-to-receipt latency as the
request type `WS` named `e2e message`.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import random
import sys
import threading
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import gevent
import requests
from locust import HttpUser, User, between, events, task
from locust.env import Environment


def _websocket_client() -> ModuleType:
    """websocket-client's `websocket`, not tests/websocket/ (Locust puts tests/ on sys.path)."""
    here = Path(__file__).resolve().parent
    saved = list(sys.path)
    sys.path[:] = [entry for entry in saved if Path(entry or ".").resolve() != here]
    try:
        module = sys.modules.get("websocket")
        if module is not None and not hasattr(module, "create_connection"):
            del sys.modules["websocket"]
        return importlib.import_module("websocket")
    finally:
        sys.path[:] = saved


websocket = _websocket_client()

MARK = "locust|"
GROUPS = int(os.environ.get("LOCUST_GROUPS", "10"))
# Several server processes of one deployment: users are spread over them round robin.
HOSTS = [h.strip().rstrip("/") for h in os.environ.get("LOCUST_HOSTS", "").split(",") if h.strip()]
_host_cycle = itertools.cycle(HOSTS) if HOSTS else None


def pick_host(default: str | None) -> str:
    """The next of LOCUST_HOSTS, or `--host`."""
    host = next(_host_cycle) if _host_cycle is not None else default
    if not host:
        raise RuntimeError("give --host (or LOCUST_HOSTS)")
    return host


HTTP_TIMEOUT = 10


class Pool:
    """The groups made at test start and the doctor who administers them."""

    host = ""
    doctor_token = ""
    group_ids: ClassVar[list[str]] = []  # filled once at test start
    _next = itertools.count()
    _lock = threading.Lock()

    @classmethod
    def setup(cls, host: str) -> None:
        with cls._lock:
            if cls.group_ids:  # one deployment, whichever of its hosts set it up
                return
            doctor = create_user(host, "DOCTOR")
            cls.host, cls.doctor_token = host, doctor["access_token"]
            cls.group_ids = [
                post(host, "/api/group/create", cls.doctor_token, {"group_name": f"locust {i}"})[
                    "group_id"
                ]
                for i in range(GROUPS)
            ]

    @classmethod
    def join(cls, host: str, user_id: str) -> str:
        cls.setup(host)
        group_id = cls.group_ids[next(cls._next) % len(cls.group_ids)]
        post(host, f"/api/group/{group_id}/members", cls.doctor_token, {"user_id": user_id})
        return group_id


def post(host: str, path: str, token: str | None, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.post(f"{host}{path}", json=body, headers=headers, timeout=HTTP_TIMEOUT)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def create_user(host: str, role: str) -> dict[str, Any]:
    name = f"locust-{uuid.uuid4().hex[:10]}"
    return post(host, "/api/user/create", None, {"username": name, "user_role": role})


@events.test_start.add_listener
def on_test_start(environment: Environment, **_kwargs: Any) -> None:
    if environment.host:
        Pool.setup(environment.host.rstrip("/"))


def content() -> str:
    return f"{MARK}{time.time():.6f}"


class ChatHttpUser(HttpUser):
    """A member who sends, lists recent history and opens single messages over HTTP."""

    weight = 3
    wait_time = between(0.5, 1.5)

    def __init__(self, environment: Environment) -> None:
        self.base = pick_host(self.host or environment.host).rstrip("/")
        self.host = self.base
        super().__init__(environment)

    def on_start(self) -> None:
        me = create_user(self.base, "PATIENT")
        self.group_id = Pool.join(self.base, me["user_id"])
        self.client.headers["Authorization"] = f"Bearer {me['access_token']}"
        self.message_ids: list[str] = []

    @task(5)
    def send(self) -> None:
        body = {"group_id": self.group_id, "content": content()}
        with self.client.post("/api/message/send", json=body, catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"HTTP {response.status_code}")
                return
            self.message_ids = [*self.message_ids[-49:], response.json()["message_id"]]

    @task(3)
    def list_recent(self) -> None:
        self.client.get(
            f"/api/message/list?group_id={self.group_id}&page=1&page_size=20",
            name="/api/message/list?page",
        )

    @task(1)
    def scroll_back(self) -> None:
        self.client.get(
            f"/api/message/list?group_id={self.group_id}&before_seq=1000000&limit=50",
            name="/api/message/list?before_seq",
        )

    @task(1)
    def get_message(self) -> None:
        if self.message_ids:
            message_id = random.choice(self.message_ids)
            self.client.get(f"/api/message/{message_id}", name="/api/message/{message_id}")


class ChatSocketUser(User):
    """A member online over WebSocket: sends `send_message` frames and reports the latency of
    the `message_sent` ack and of every bench message pushed to it (send time in content)."""

    weight = 1
    wait_time = between(1, 3)

    def __init__(self, environment: Environment) -> None:
        self.base = pick_host(self.host or environment.host).rstrip("/")
        self.host = self.base
        super().__init__(environment)

    def on_start(self) -> None:
        host = self.base
        me = create_user(host, "PATIENT")
        self.group_id = Pool.join(host, me["user_id"])
        url = f"{host.replace('http', 'ws', 1)}/ws/{me['user_id']}?token={me['access_token']}"
        started = time.perf_counter()
        self.socket = websocket.create_connection(url, timeout=HTTP_TIMEOUT)
        first = json.loads(self.socket.recv())
        self.fire(
            "connect",
            started,
            exception=None
            if first.get("type") == "connected"
            else RuntimeError(f"expected connected, got {first.get('type')}"),
        )
        self.pending: dict[str, float] = {}
        self.receiver = gevent.spawn(self.receive_loop)

    def on_stop(self) -> None:
        self.receiver.kill(block=False)
        self.socket.close()

    def fire(
        self, name: str, started: float, *, exception: Exception | None = None, length: int = 0
    ) -> None:
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=length,
            exception=exception,
            context={},
        )

    def receive_loop(self) -> None:
        while True:
            try:
                raw = self.socket.recv()
            except Exception as exc:  # the server or the test closed the socket
                self.fire("receive", time.perf_counter(), exception=exc)
                return
            received = time.time()
            event = json.loads(raw)
            kind = event.get("type")
            if kind == "message_sent":
                started = self.pending.pop(event.get("client_msg_id") or "", None)
                if started is not None:
                    self.fire("send_message ack", started, length=len(raw))
            elif kind == "error":
                started = self.pending.pop(event.get("client_msg_id") or "", time.perf_counter())
                self.fire("send_message ack", started, exception=RuntimeError(event.get("code")))
            elif kind == "message":
                text = event["message"].get("msg_content", "")
                if text.startswith(MARK):
                    latency_ms = max(0.0, received - float(text[len(MARK) :])) * 1000
                    self.environment.events.request.fire(
                        request_type="WS",
                        name="e2e message",
                        response_time=latency_ms,
                        response_length=len(raw),
                        exception=None,
                        context={},
                    )

    @task
    def send_message(self) -> None:
        client_msg_id = uuid.uuid4().hex
        frame = {
            "type": "send_message",
            "group_id": self.group_id,
            "content": content(),
            "client_msg_id": client_msg_id,
        }
        self.pending[client_msg_id] = time.perf_counter()
        try:
            self.socket.send(json.dumps(frame))
        except Exception as exc:
            self.pending.pop(client_msg_id, None)
            self.fire("send_message ack", time.perf_counter(), exception=exc)
