"""How many slow AI calls one Celery worker process holds in flight.

Starts a stand-in AI that answers after `--ai-delay` seconds (counting concurrent requests), a
server with AI_WORKER=celery, and ONE Celery worker process (threads pool, one event loop);
sends `--messages` patient messages at once and reports the peak number of AI calls in flight,
the time until every record is SUCCESS, and the throughput. Loopback only; stops what it starts.

    .venv/bin/python scripts/ai_worker_bench.py --messages 200 --concurrency 200 --ai-delay 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent


class SlowAI:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.in_flight = 0
        self.peak = 0
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"reply": "ok"}'})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_health(url: str) -> None:
    async with httpx.AsyncClient() as client, asyncio.timeout(30):
        while True:
            try:
                if (await client.get(f"{url}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    ai = SlowAI(args.ai_delay)
    ai_port, port = free_port(), free_port()
    ai_server = uvicorn.Server(
        uvicorn.Config(ai, host="127.0.0.1", port=ai_port, log_config=None, lifespan="off")
    )
    ai_task = asyncio.create_task(ai_server.serve())
    workdir = Path(tempfile.mkdtemp(prefix="ai-bench-"))
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url or f"sqlite+aiosqlite:///{workdir}/im.db",
        "BROKER_URL": args.redis,
        "REDIS_PREFIX": f"aibench-{secrets.token_hex(3)}",
        "CELERY_QUEUE": f"aibench-{secrets.token_hex(3)}",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "AI_WORKER": "celery",
        "AI_PROVIDER": "http",
        "AI_SERVICE_URL": f"http://127.0.0.1:{ai_port}/chat",
        "AI_SERVICE_TIMEOUT": str(args.ai_delay * 5),
        "RATE_LIMIT_MESSAGES_PER_MINUTE": "0",
        "LOG_LEVEL": "WARNING",
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    python = sys.executable
    await asyncio.to_thread(
        subprocess.run, [python, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True
    )
    log = (workdir / "procs.log").open("wb")
    server = await asyncio.to_thread(
        subprocess.Popen, [python, "-m", "app"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    worker = await asyncio.to_thread(
        subprocess.Popen,
        [
            python,
            "-m",
            "celery",
            "-A",
            "app.tasks.celery_app",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            str(args.concurrency),
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_health(base)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            doctor = (
                await client.post("/api/user/create", json={"username": "d", "user_role": "DOCTOR"})
            ).json()
            patient = (
                await client.post(
                    "/api/user/create", json={"username": "p", "user_role": "PATIENT"}
                )
            ).json()
            dh = {"Authorization": f"Bearer {doctor['access_token']}"}
            ph = {"Authorization": f"Bearer {patient['access_token']}"}
            group = (
                await client.post("/api/group/create", json={"group_name": "bench"}, headers=dh)
            ).json()["group_id"]
            await client.post(
                f"/api/group/{group}/members", json={"user_id": patient["user_id"]}, headers=dh
            )
            started = time.perf_counter()
            await asyncio.gather(
                *(
                    client.post(
                        "/api/message/send",
                        json={"group_id": group, "content": f"q{i}"},
                        headers=ph,
                    )
                    for i in range(args.messages)
                )
            )
            async with asyncio.timeout(args.ai_delay * args.messages + 60):
                while True:
                    body = (
                        await client.get(
                            "/api/ai/interactions",
                            params={"group_id": group, "page_size": 100},
                            headers=dh,
                        )
                    ).json()
                    done = body["total"] == args.messages and all(
                        r["status"] == "SUCCESS" for r in body["records"]
                    )
                    if done and ai.calls >= args.messages:
                        break
                    await asyncio.sleep(0.2)
            elapsed = time.perf_counter() - started
    finally:
        for proc in (worker, server):
            proc.terminate()
        for proc in (worker, server):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        ai_server.should_exit = True
        await ai_task
        log.close()
    return {
        "workload": "ai-worker-inflight",
        "worker_processes": 1,
        "pool_threads": args.concurrency,
        "ai_delay_s": args.ai_delay,
        "messages": args.messages,
        "peak_in_flight": ai.peak,
        "seconds_to_all_success": round(elapsed, 2),
        "replies_per_second": round(args.messages / elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--ai-delay", type=float, default=2.0)
    parser.add_argument(
        "--redis", default=os.environ.get("IM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--database-url", default="")
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
