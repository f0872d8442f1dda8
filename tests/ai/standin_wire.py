"""The stand-in AI's three wire formats, faithful to each API's documented shapes: the seed's
`{"reply"}`, OpenAI chat-completion chunks (`data: {...}` lines, `data: [DONE]`, errors as
`{"error": {message, type, param, code}}`) and Anthropic Messages events (`message_start`,
`content_block_*`, `ping`, `message_delta`, `message_stop`, `error`; errors as
`{"type": "error", "error": {type, message}}`)."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from starlette.types import Send

if TYPE_CHECKING:
    from tests.ai.standin import Behaviour

HUGE_PIECE = 1000
"""Characters per piece of a `huge` reply."""

OPENAI_ERRORS = {
    400: ("invalid_request_error", "invalid_value"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _sse(data: object, event: str | None = None) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return ((f"event: {event}\n" if event else "") + f"data: {text}\n\n").encode()


class Wire:
    def __init__(self, send: Send, hung_up: asyncio.Event, request: dict[str, Any]) -> None:
        self.send = send
        self.hung_up = hung_up
        self.request = request

    async def answer(self, b: Behaviour, path: str) -> None:
        if path.endswith("/chat/completions"):
            await self.openai(b)
        elif path.endswith("/messages"):
            await self.anthropic(b)
        else:
            await self.seed(b)

    # --- plumbing ---------------------------------------------------------------------------

    async def start(self, status: int, content_type: str, extra: dict[str, str]) -> None:
        headers = [(b"content-type", content_type.encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        await self.send({"type": "http.response.start", "status": status, "headers": headers})

    async def body(self, data: bytes, more: bool = False) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": more})

    async def json(self, status: int, payload: object, extra: dict[str, str] | None = None) -> None:
        await self.start(status, "application/json", extra or {})
        try:
            data = json.dumps(payload, ensure_ascii=False).encode()
        except UnicodeEncodeError:  # a lone surrogate: only an escape can carry it
            data = json.dumps(payload).encode()
        await self.body(data)

    async def events(self, events: list[bytes], then_close: bool = True) -> None:
        """Each event as its own body part, so the client sees them one by one."""
        for event in events:
            await self.body(event, more=True)
            await asyncio.sleep(0.01)
        if then_close:
            await self.body(b"")

    async def endless(self, piece: Any, size: int) -> None:
        """`piece(text)` pieces until `size` bytes or until the client hangs up."""
        sent = 0
        while sent < size and not self.hung_up.is_set():
            data = piece("x" * HUGE_PIECE)
            await self.body(data, more=True)
            sent += len(data)
            await asyncio.sleep(0)  # let the disconnect watcher run

    # --- the seed's contract ----------------------------------------------------------------

    async def seed(self, b: Behaviour) -> None:
        if b.kind == "status":
            await self.json(b.status, {"detail": "stand-in error"}, b.headers)
        elif b.kind == "invalid_json":
            await self.start(200, "text/html", {})
            await self.body(b"<html>not json</html>")
        elif b.kind == "no_reply":
            await self.json(200, {"answer": "wrong field"})
        elif b.kind == "huge":
            total = -(-b.size // HUGE_PIECE) * HUGE_PIECE + len(b'{"reply": ""}')
            length = {"content-length": str(total)} if b.declare_length else {}
            await self.start(200, "application/json", length)
            await self.body(b'{"reply": "', more=True)
            await self.endless(str.encode, b.size)
            if not self.hung_up.is_set():
                await self.body(b'"}')
        else:
            await self.json(200, {"reply": b.reply}, b.headers)

    # --- OpenAI chat completions ------------------------------------------------------------

    async def openai(self, b: Behaviour) -> None:
        if b.kind == "status":
            kind, code = OPENAI_ERRORS.get(b.status, ("server_error", None))
            error = {"message": "stand-in error", "type": kind, "param": None, "code": code}
            await self.json(b.status, {"error": error}, b.headers)
            return
        if not self.request.get("stream"):
            choice = {"index": 0, "message": {"role": "assistant", "content": b.reply}}
            await self.json(
                200, _completion("chat.completion", [choice | {"finish_reason": "stop"}])
            )
            return
        if b.kind == "shape":
            await self.json(200, {"unexpected": "a JSON body, not a stream"})
            return
        await self.start(200, "text/event-stream", b.headers)
        chunks = b.chunks or [b.reply]
        deltas = [_openai_chunk({"role": "assistant", "content": ""})]
        deltas += [_openai_chunk({"content": c}) for c in chunks]
        if b.kind == "odd_events":  # chunks of other shapes (no choices, no delta…): skipped
            odd = [
                {"id": "x", "object": "chat.completion.chunk"},
                _completion("x", [{"index": 0}]),
                {"choices": "not a list"},
                {"choices": [1]},
                _completion("x", [{"index": 0, "delta": {"content": 5}}]),
                [1, 2],
                '"text"',  # a JSON string
            ]
            deltas[1:1] = [_sse(o) for o in odd]
        if b.kind == "cut":
            await self.events(deltas[: len(deltas) // 2 + 1], then_close=False)
            return  # uvicorn closes the connection: the chunked body never ends
        if b.kind == "stream_error":
            error = {"message": "stand-in failure", "type": "server_error", "code": None}
            await self.events([*deltas[:2], _sse({"error": error})])
            return
        if b.kind == "huge":
            await self.events(deltas[:1], then_close=False)
            await self.endless(lambda text: _openai_chunk({"content": text}), b.size)
        else:
            await self.events(deltas, then_close=False)
        if not self.hung_up.is_set():
            await self.events([_openai_chunk({}, finish_reason="stop"), _sse("[DONE]")])

    # --- Anthropic Messages ------------------------------------------------------------------

    async def anthropic(self, b: Behaviour) -> None:
        if b.kind == "status":
            kind = ANTHROPIC_ERRORS.get(b.status, "api_error")
            body = {"type": "error", "error": {"type": kind, "message": "stand-in error"}}
            await self.json(b.status, body | {"request_id": "req_standin"}, b.headers)
            return
        if b.kind == "shape":
            await self.json(200, {"unexpected": "a JSON body, not a stream"})
            return
        await self.start(200, "text/event-stream", b.headers)
        chunks = b.chunks or [b.reply]
        opening = [_message_start(self.request.get("model", "")), _block_start(), _ping()]
        deltas = [_text_delta(c) for c in chunks]
        if b.kind == "odd_events":  # a delta without its delta, another kind, an unknown event
            odd = [
                _sse({"type": "content_block_delta", "index": 0}, "content_block_delta"),
                _sse(
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "thinking_delta", "thinking": "hm"},
                    },
                    "content_block_delta",
                ),
                _sse({"type": "surprise"}, "surprise"),
            ]
            deltas[:0] = odd
        closing = [
            _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
            _sse(_message_delta(), "message_delta"),
            _sse({"type": "message_stop"}, "message_stop"),
        ]
        if b.kind == "cut":
            await self.events([*opening, *deltas[: len(deltas) // 2 + 1]], then_close=False)
            return  # uvicorn closes the connection: the chunked body never ends
        if b.kind == "stream_error":
            error = {"type": "error", "error": {"type": b.error_type, "message": "stand-in"}}
            await self.events([*opening, *deltas[:1], _sse(error, "error")])
            return
        if b.kind == "huge":
            await self.events(opening, then_close=False)
            await self.endless(_text_delta, b.size)
        else:
            await self.events([*opening, *deltas], then_close=False)
        if not self.hung_up.is_set():
            await self.events(closing)


def _completion(obj: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-standin",
        "object": obj,
        "created": 1_700_000_000,
        "model": "stand-in",
        "choices": choices,
    }


def _openai_chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    return _sse(_completion("chat.completion.chunk", [choice]))


def _message_start(model: str) -> bytes:
    message: dict[str, Any] = {
        "id": "msg_standin",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": model,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 25, "output_tokens": 1},
    }
    return _sse({"type": "message_start", "message": message}, "message_start")


def _block_start() -> bytes:
    block = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    return _sse(block, "content_block_start")


def _ping() -> bytes:
    return _sse({"type": "ping"}, "ping")


def _text_delta(text: str) -> bytes:
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": text},
    }
    return _sse(delta, "content_block_delta")


def _message_delta() -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 15},
    }
