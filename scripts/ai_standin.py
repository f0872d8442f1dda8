"""Serve the tests' stand-in AI on a port, for manual runs of the service against each provider
(the seed's `/chat`, OpenAI-compatible `/v1/chat/completions`, Anthropic `/v1/messages`).

    .venv/bin/python scripts/ai_standin.py --port 9100 &
    AI_PROVIDER=anthropic AI_SERVICE_URL=http://127.0.0.1:9100 make run

Every call streams the same reply word by word; each request is printed as it arrives (path,
model, roles, whether a key came), never the key itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests`, for the stand-in

from tests.ai.standin import Behaviour, Received, StandInAI

DEFAULT_REPLY = (
    "Stand-in reply: rest, drink water, and measure your temperature twice a day. "
    "A doctor will follow up."
)


def describe(request: Received) -> str:
    body = request.body
    roles = [m.get("role") for m in body.get("messages", body.get("history", []))]
    keyed = "authorization" in request.headers or "x-api-key" in request.headers
    system = "system" in body or "system" in roles
    return (
        f"{request.path} model={body.get('model', '-')} stream={body.get('stream', '-')} "
        f"roles={roles} system={system} key={'yes' if keyed else 'no'}"
    )


async def main(args: argparse.Namespace) -> None:
    stub = StandInAI()
    words = args.reply.split(" ")
    chunks = [word + " " for word in words[:-1]] + words[-1:]
    stub.default = Behaviour(kind="stream", reply=args.reply, chunks=chunks)
    await stub.start(port=args.port)
    print(f"stand-in AI on {stub.base_url} (Ctrl-C to stop)", flush=True)
    seen = 0
    with contextlib.suppress(asyncio.CancelledError):
        while not stub.stopping:
            for request in stub.received[seen:]:
                print(describe(request), flush=True)
            seen = len(stub.received)
            await asyncio.sleep(0.2)
    await stub.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--reply", default=DEFAULT_REPLY)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parser.parse_args()))
