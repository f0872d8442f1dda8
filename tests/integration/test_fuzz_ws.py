"""WebSocket protocol fuzzing of a real server process (SPEC §6: bad input gets an `error` event,
never a crash of the connection handler).

One connection receives a few hundred hostile frames from a fixed-seed generator: random bytes,
malformed JSON, every event type with every field replaced by wrong types, huge numbers, deep
nesting, odd unicode, very long strings. After each frame a `ping` must still get its `pong`,
and every reply must be a well-formed protocol event. Then: an oversized frame closes with 1009,
forged/expired/foreign tokens are refused at the handshake, and the process is still alive.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.factories import TestUser, add_member, create_group, create_user, send
from tests.integration.clients import http_client
from tests.integration.conftest import ServerFactory
from tests.integration.processes import SECRET_KEY, ServerProcess

SEED = 20240611
RANDOM_FRAMES = 150
FRAME_LIMIT = 64 * 1024
REPLY_WITHIN = 10.0
ERROR_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
REPLY_TYPES = {"error", "sync_result", "message_sent", "message", "read", "presence", "typing"}
EVENT_TYPES = ("send_message", "sync", "typing", "read", "ping")
FIELDS = {
    "send_message": ("group_id", "content", "client_msg_id"),
    "sync": ("cursors",),
    "typing": ("group_id",),
    "read": ("group_id", "seq"),
    "ping": (),
}


def _deep(depth: int, kind: str) -> str:
    return "[" * depth + "]" * depth if kind == "list" else '{"a":' * depth + "1" + "}" * depth


# JSON *text* for hostile values (stdlib json writes integers of any size, NaN and Infinity).
WEIRD_VALUES: list[str] = [
    "null",
    "true",
    "false",
    "0",
    "-1",
    str(2**31),
    str(2**63),
    str(10**40),
    str(-(10**40)),
    "1e308",
    "-1e308",
    "1e999",
    "NaN",
    "Infinity",
    "0.5",
    '""',
    '" "',
    json.dumps("x" * 70_000)[:60_000] + '"',
    json.dumps("x" * 5001),
    json.dumps("g" * 65),
    json.dumps("\u0000"),
    '"\\ud800"',
    json.dumps("\N{GRINNING FACE}" * 200),
    json.dumps("\u202egroup\u200b"),
    json.dumps("'; DROP TABLE messages; --"),
    json.dumps("../../etc/passwd"),
    "[]",
    "{}",
    '["a"]',
    '{"a": 1}',
    _deep(50, "list"),
    _deep(50, "dict"),
]

MALFORMED = [
    "",
    " ",
    "{",
    "}",
    '{"type":',
    '{"type": "ping"',
    '{"type": "ping",}',
    "{'type': 'ping'}",
    "nul",
    "[1, 2",
    '"unterminated',
    "\u0000",
    "\ufeff{}",
    '{"type": "ping"}{"type": "ping"}',
    _deep(5000, "list"),
    _deep(5000, "dict"),
    '{"type": "sync", "cursors": ' + _deep(2000, "dict") + "}",
    '{"type": "ping", "type": "sync"}',
    '{"type": "PING"}',
    '{"type": "ping\\u0000"}',
    '{"type": ["ping"]}',
    '{"type": {"ping": 1}}',
    '{"type": 7}',
]


@dataclass
class Outcome:
    frame: str | bytes
    replies: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None


@dataclass
class FuzzRun:
    server: ServerProcess
    user: TestUser
    group_id: str
    outcomes: list[Outcome]
    final_pong: bool
    seconds: float


def _obj(pairs: dict[str, str]) -> str:
    """A JSON object from already-encoded JSON values."""
    return "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in pairs.items()) + "}"


def _valid_fields(event_type: str, group_id: str, rng: random.Random) -> dict[str, str]:
    values = {
        "group_id": json.dumps(group_id),
        "content": json.dumps(f"fuzz {rng.randrange(10**6)}"),
        "client_msg_id": json.dumps(f"fz-{rng.randrange(10**9)}"),
        "cursors": json.dumps({group_id: 0}),
        "seq": "0",
    }
    return {name: values[name] for name in FIELDS[event_type]}


def frames(group_id: str) -> Iterator[str | bytes]:
    """Every hostile frame, in a fixed order (seeded)."""
    rng = random.Random(SEED)
    yield from MALFORMED
    # Every field of every event type, replaced by every weird value; and each field left out.
    for event_type in EVENT_TYPES:
        for name in FIELDS[event_type]:
            for weird in WEIRD_VALUES:
                pairs = {"type": json.dumps(event_type), **_valid_fields(event_type, group_id, rng)}
                pairs[name] = weird
                yield _obj(pairs)
            pairs = {"type": json.dumps(event_type), **_valid_fields(event_type, group_id, rng)}
            del pairs[name]
            yield _obj(pairs)
        extra = {"type": json.dumps(event_type), **_valid_fields(event_type, group_id, rng)}
        yield _obj({**extra, "unexpected": "1"})
    # Hostile cursor maps for sync.
    for cursors in (
        {f"g{i}": 0 for i in range(501)},
        {"": 0},
        {"x" * 65: 0},
        {group_id: -1},
        {group_id: 2**31},
        {group_id: 2**63},
        {"\u0000": 0},
        {group_id: "1"},
    ):
        yield json.dumps({"type": "sync", "cursors": cursors})
    # Random bytes, as binary frames and as text.
    for _ in range(RANDOM_FRAMES):
        blob = rng.randbytes(rng.choice((1, 8, 64, 1024, 16_000)))
        yield blob if rng.random() < 0.5 else blob.decode("latin-1")


async def _ping_round(connection: ClientConnection, outcome: Outcome) -> bool:
    """Send a ping and read up to its pong; False when the connection ended."""
    await connection.send('{"type": "ping"}')
    deadline = time.monotonic() + REPLY_WITHIN
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            outcome.problem = "no pong in time"
            return True
        raw = await asyncio.wait_for(connection.recv(), timeout=remaining)
        try:
            event = json.loads(raw)
        except ValueError:
            outcome.problem = f"non-JSON reply {raw!r:.200}"
            continue
        if event == {"type": "pong"}:
            return True
        outcome.replies.append(event)


@pytest.fixture(scope="module")
async def fuzz_run(module_servers: ServerFactory, module_postgres_url: str) -> FuzzRun:
    server = await module_servers.start("fuzz-ws", database_url=module_postgres_url)
    async with http_client(server) as http:
        doctor = await create_user(http, "DOCTOR")
        patient = await create_user(http, "PATIENT")
        group_id = (await create_group(http, doctor))["group_id"]
        await add_member(http, doctor, group_id, patient)
        assert (await send(http, doctor, group_id, "seed")).status_code == 201
    outcomes: list[Outcome] = []
    started = time.monotonic()
    async with connect(server.ws_url(doctor.user_id, doctor.token), max_size=2**22) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), REPLY_WITHIN))["type"] == "connected"
        for frame in frames(group_id):
            outcome = Outcome(frame)
            outcomes.append(outcome)
            try:
                await ws.send(frame)
                await _ping_round(ws, outcome)
            except ConnectionClosed as exc:
                outcome.problem = f"connection closed: {exc}"
                break
            except TimeoutError:
                outcome.problem = "no reply in time"
                break
        final_pong = False
        try:
            await ws.send('{"type": "ping"}')
            reply = json.loads(await asyncio.wait_for(ws.recv(), REPLY_WITHIN))
            final_pong = reply == {"type": "pong"}
        except (ConnectionClosed, TimeoutError):
            final_pong = False
    return FuzzRun(server, doctor, group_id, outcomes, final_pong, time.monotonic() - started)


def _show(frame: str | bytes) -> str:
    return repr(frame[:120])


def test_the_same_connection_survives_every_frame(fuzz_run: FuzzRun) -> None:
    broken = [f"{o.problem}: {_show(o.frame)}" for o in fuzz_run.outcomes if o.problem]
    assert not broken, "\n".join(broken)
    assert len(fuzz_run.outcomes) == sum(1 for _ in frames(fuzz_run.group_id))
    assert fuzz_run.final_pong
    assert fuzz_run.server.is_alive()
    print(f"{len(fuzz_run.outcomes)} frames in {fuzz_run.seconds:.1f}s")


def test_every_reply_is_a_well_formed_event(fuzz_run: FuzzRun) -> None:
    bad = []
    for outcome in fuzz_run.outcomes:
        for reply in outcome.replies:
            well_formed = reply.get("type") in REPLY_TYPES and (
                reply["type"] != "error"
                or (
                    isinstance(reply.get("code"), str)
                    and ERROR_CODE.match(reply["code"]) is not None
                    and isinstance(reply.get("message"), str)
                    and "Traceback" not in reply["message"]
                )
            )
            if not well_formed:
                bad.append((_show(outcome.frame), reply))
    assert bad == []


def test_binary_and_malformed_frames_are_answered_with_an_error(fuzz_run: FuzzRun) -> None:
    for outcome in fuzz_run.outcomes[: len(MALFORMED)]:
        frame = outcome.frame
        if frame == _deep(5000, "list") or (
            isinstance(frame, str) and frame.startswith('{"type": "ping",')
        ):
            continue  # valid-but-odd JSON: may be answered as a ping or an error
        codes = [r.get("code") for r in outcome.replies if r.get("type") == "error"]
        assert codes, f"no error for {_show(outcome.frame)}: {outcome.replies}"
    binary = [o for o in fuzz_run.outcomes if isinstance(o.frame, bytes)]
    assert binary
    for outcome in binary:
        assert [r.get("code") for r in outcome.replies] == ["UNSUPPORTED_FRAME"]


def test_no_frame_causes_an_internal_error(fuzz_run: FuzzRun) -> None:
    """An INTERNAL_ERROR is an unhandled exception behind the error event: a bug."""
    internal = [
        _show(o.frame)
        for o in fuzz_run.outcomes
        if any(r.get("code") == "INTERNAL_ERROR" for r in o.replies)
    ]
    assert not internal, "INTERNAL_ERROR for:\n" + "\n".join(internal)


async def test_oversized_frame_closes_1009_and_the_server_lives_on(fuzz_run: FuzzRun) -> None:
    server, user = fuzz_run.server, fuzz_run.user
    async with connect(server.ws_url(user.user_id, user.token), max_size=2**22) as ws:
        await asyncio.wait_for(ws.recv(), REPLY_WITHIN)
        await ws.send(json.dumps({"type": "ping", "pad": "x" * (FRAME_LIMIT + 10)}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), REPLY_WITHIN)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009
    async with connect(server.ws_url(user.user_id, user.token)) as ws:
        await asyncio.wait_for(ws.recv(), REPLY_WITHIN)
        await ws.send('{"type": "ping"}')
        assert json.loads(await asyncio.wait_for(ws.recv(), REPLY_WITHIN)) == {"type": "pong"}


def _forged_tokens(user: TestUser, other: str) -> list[tuple[str, str]]:
    now = int(time.time())
    return [
        ("empty", ""),
        ("garbage", "not-a-token"),
        ("alg none", jwt.encode({"sub": user.user_id, "exp": now + 600}, "", algorithm="none")),
        (
            "wrong key",
            jwt.encode({"sub": user.user_id, "exp": now + 600}, "guess" * 8, algorithm="HS256"),
        ),
        (
            "expired",
            jwt.encode({"sub": user.user_id, "exp": now - 60}, SECRET_KEY, algorithm="HS256"),
        ),
        ("no exp", jwt.encode({"sub": user.user_id}, SECRET_KEY, algorithm="HS256")),
        ("someone else's", other),
        ("tampered", user.token[:-3] + ("AAA" if not user.token.endswith("AAA") else "BBB")),
    ]


async def test_handshake_refuses_forged_expired_and_foreign_tokens(fuzz_run: FuzzRun) -> None:
    server, user = fuzz_run.server, fuzz_run.user
    async with http_client(server) as http:
        other = await create_user(http, "PATIENT")
    for label, token in _forged_tokens(user, other.token):
        url = f"ws://127.0.0.1:{server.port}/ws/{user.user_id}?token={token}"
        outcome: object
        try:
            async with connect(url, open_timeout=REPLY_WITHIN) as ws:
                try:
                    data = await asyncio.wait_for(ws.recv(), REPLY_WITHIN)
                    outcome = f"data: {data!r:.80}"
                except ConnectionClosed as exc:
                    outcome = exc.rcvd.code if exc.rcvd is not None else None
        except InvalidStatus as exc:
            outcome = exc.response.status_code
        assert outcome in (403, 4401), f"{label}: {outcome}"
    assert server.is_alive()


def test_tokens_never_reach_the_server_log(fuzz_run: FuzzRun) -> None:
    """CONVENTIONS/SPEC: tokens are never logged; the WebSocket URL carries one (?token=)."""
    log = fuzz_run.server.log_text()
    assert fuzz_run.user.token not in log, "an access token is in the server log"
