"""A stand-in for the external AI service: a real HTTP server on loopback.

It speaks the seed's contract (`POST /chat` → `{"reply"}`) and an OpenAI-compatible streaming
endpoint (`POST /v1/chat/completions`). Tests queue the behaviour of the next calls
(`ok`, `status`, `hang`, `invalid_json`, `no_reply`, `stream`) and read what it received.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.types import Receive, Scope, Send


@dataclass
class Behaviour:
    kind: str = "ok"
    reply: str = "Stand-in AI reply"
    status: int = 200
    chunks: list[str] = field(default_factory=list)
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


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
    def chat_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/chat"

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def then(self, kind: str = "ok", **kwargs: Any) -> StandInAI:
        self.queue.append(Behaviour(kind=kind, **kwargs))
        return self

    async def start(self) -> None:
        config = uvicorn.Config(self, host="127.0.0.1", port=0, log_config=None, lifespan="off")
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
        self.received.append(Received(scope["path"], headers, json.loads(raw or b"{}")))
        behaviour = self.queue.popleft() if self.queue else self.default
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        await self._answer(behaviour, scope["path"], send)

    async def _answer(self, b: Behaviour, path: str, send: Send) -> None:
        if b.kind == "hang":
            await self.release.wait()
            return
        if b.kind == "status":
            await _respond(send, b.status, b"{}", b.headers)
        elif b.kind == "invalid_json":
            await _respond(send, 200, b"<html>not json</html>")
        elif b.kind == "no_reply":
            await _respond(send, 200, b'{"answer": "wrong field"}')
        elif b.kind == "stream":
            await _stream(send, b.chunks)
        elif path.endswith("/chat/completions"):
            body = {"choices": [{"message": {"role": "assistant", "content": b.reply}}]}
            await _respond(send, 200, json.dumps(body).encode())
        else:
            await _respond(send, 200, json.dumps({"reply": b.reply}).encode())


async def _respond(
    send: Send, status: int, body: bytes, extra: dict[str, str] | None = None
) -> None:
    headers = [(b"content-type", b"application/json")]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _stream(send: Send, chunks: list[str]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream")],
        }
    )
    for chunk in chunks:
        data = {"choices": [{"index": 0, "delta": {"content": chunk}}]}
        await send(
            {
                "type": "http.response.body",
                "body": f"data: {json.dumps(data)}\n\n".encode(),
                "more_body": True,
            }
        )
        await asyncio.sleep(0.01)
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})
