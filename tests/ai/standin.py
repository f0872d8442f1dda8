"""A stand-in for the external AI service: a real HTTP server on loopback (uvicorn, port 0).

It speaks three wire formats, chosen by path (see `tests/ai/standin_wire.py`): the seed's
contract (`POST /chat` → `{"reply"}`), OpenAI chat completions (`POST /v1/chat/completions`,
SSE chunks and `[DONE]`) and the Anthropic Messages API (`POST /v1/messages`, named SSE events).
Tests queue the behaviour of the next calls (`then(kind, ...)`; kinds in `Behaviour`) and read
what it received: path, headers, JSON body, bytes sent back, and whether the client hung up
before the answer was complete.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import uvicorn
from starlette.types import Message, Receive, Scope, Send

from tests.ai import standin_wire


@dataclass
class Behaviour:
    """`ok` (the reply; streamed when the request asks), `stream` (these `chunks`), `status`
    (an error in the API's shape), `hang` (no answer until the stand-in stops), `held` (`ok`,
    once `release` is set), `invalid_json`,
    `no_reply` / `shape` (an unexpected shape), `odd_events` (`stream`, with events of
    unexpected shapes among them), `cut` (chunks, then the connection closes
    mid-stream), `stream_error` (chunks, then an error inside the stream), `huge` (an endless
    reply, up to `size` bytes, sent until the client hangs up)."""

    kind: str = "ok"
    reply: str = "Stand-in AI reply"
    status: int = 200
    chunks: list[str] = field(default_factory=list)
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    error_type: str = ""
    size: int = 0
    declare_length: bool = False


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    bytes_sent: int = 0
    completed: bool = False
    client_hung_up: bool = False
    """The client closed the connection before the stand-in finished its answer."""
    done: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the stand-in has finished with this request (answered, or the client left)."""


class StandInAI:
    def __init__(self) -> None:
        self.queue: deque[Behaviour] = deque()
        self.default = Behaviour()
        self.received: list[Received] = []
        self.server: uvicorn.Server | None = None
        self.port = 0
        self._task: asyncio.Task[None] | None = None
        self.release = asyncio.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def chat_url(self) -> str:
        return f"{self.base_url}/chat"

    @property
    def openai_url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def anthropic_url(self) -> str:
        """The SDK's base URL: the SDK itself appends `/v1/messages`."""
        return self.base_url

    @property
    def stopping(self) -> bool:
        """True once the server was told to stop (uvicorn sets it on SIGINT / SIGTERM too)."""
        return self.server is None or self.server.should_exit

    def url_for(self, provider: str) -> str:
        """`AI_SERVICE_URL` for a provider talking to this stand-in."""
        return {
            "openai": self.openai_url,
            "deepseek": self.openai_url,
            "anthropic": self.anthropic_url,
            "mock": "",
        }.get(provider, self.chat_url)

    def then(self, kind: str = "ok", **kwargs: Any) -> StandInAI:
        self.queue.append(Behaviour(kind=kind, **kwargs))
        return self

    async def start(self, port: int = 0) -> None:
        config = uvicorn.Config(self, host="127.0.0.1", port=port, log_config=None, lifespan="off")
        self.server = uvicorn.Server(config)
        self._task = asyncio.create_task(self.server.serve())
        async with asyncio.timeout(10):
            while True:
                if self.server.started:
                    break
                await asyncio.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.release.set()
        if self.server is not None and self._task is not None:
            self.server.should_exit = True
            await asyncio.wait_for(self._task, timeout=10)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        received = Received(scope["path"], headers, json.loads(raw or b"{}"))
        self.received.append(received)
        behaviour = self.queue.popleft() if self.queue else self.default
        hung_up = asyncio.Event()
        watcher = asyncio.create_task(_watch_disconnect(receive, hung_up))

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.body":
                received.bytes_sent += len(message.get("body", b""))
                received.completed = not message.get("more_body", False)
            await send(message)

        try:
            if behaviour.delay:
                await asyncio.sleep(behaviour.delay)
            if behaviour.kind == "held":
                await _first(self.release.wait(), hung_up.wait())
                behaviour = replace(behaviour, kind="ok")
            if behaviour.kind == "hang":
                await _first(self.release.wait(), hung_up.wait())
            else:
                wire = standin_wire.Wire(counting_send, hung_up, received.body)
                await wire.answer(behaviour, scope["path"])
        finally:
            received.client_hung_up = hung_up.is_set() and not received.completed
            watcher.cancel()
            received.done.set()


async def _watch_disconnect(receive: Receive, hung_up: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    hung_up.set()


async def _first(*awaitables: Any) -> None:
    """Wait until the first of `awaitables` finishes; cancel the others."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
