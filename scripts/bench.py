"""Repeatable benchmarks of the IM service (asyncio + httpx + websockets; no Locust).

Each workload starts its own servers on a fresh database, runs, prints one JSON line and a
readable table, and stops only the processes it started. Figures are kept in docs/benchmarks.md.

    .venv/bin/python scripts/bench.py --preset default                 # `make bench`, ~12 min
    .venv/bin/python scripts/bench.py --workload send --db postgres --procs 2
    .venv/bin/python scripts/bench.py --workload fanout --py-spy /tmp/prof --profile-label 1000
    .venv/bin/python scripts/bench.py --workload ai-load --db postgres   # AI off / mock / stream
    .venv/bin/python scripts/bench.py --workload ai-load --ai-modes stream,copilot --ai-rates 30
    .venv/bin/python scripts/bench.py --workload ai-load --ai-workers 1   # AI_WORKER=celery
    .venv/bin/python scripts/bench.py --workload fanout-scale --scale-procs 1,2,4 --db postgres
    .venv/bin/python scripts/bench.py --workload attachments --storage s3   # or --storage local
    .venv/bin/python scripts/bench.py --workload webhooks --webhook-rate 100  # off / ok / hanging
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # `app`, for the history seed

from benchkit import workloads_accounts as account_workloads
from benchkit import workloads_ai as ai_workloads
from benchkit import workloads_attachments as attachment_workloads
from benchkit import workloads_http as http_workloads
from benchkit import workloads_scale as scale_workloads
from benchkit import workloads_webhooks as webhook_workloads
from benchkit import workloads_ws as ws_workloads
from benchkit.api import Api
from benchkit.report import print_table
from benchkit.servers import PYTHON, ROOT, ServerSet, StandInAI

WORKLOADS = (
    "send",
    "send-paced",
    "fanout",
    "fanout-scale",
    "history",
    "connections",
    "ai",
    "ai-load",
    "login",
    "webhooks",
)
EXTRA_WORKLOADS = ("attachments",)
"""Run only when named (not in the presets)."""
PRESETS: dict[str, dict[str, Any]] = {
    # `make bench`: every workload once, about 12 minutes on 2 cores (mostly ai-load, scale).
    "default": {"workloads": WORKLOADS},
    # A smoke run of every workload in about a minute.
    "quick": {
        "workloads": WORKLOADS,
        "duration": 5.0,
        "phase_seconds": 3.0,
        "rates": "100,300",
        "connections": 1000,
        "ai_sends": 20,
        "ai_rates": "100",
        "scale_procs": "1,2",
        "scale_rate": 100,
    },
}
DEFAULTS: dict[str, Any] = {
    "duration": None,  # per workload: send 30 s, send-paced 20 s, history 20 s
    "phase_seconds": 10.0,
    "rates": "100,300,1000",
    "connections": 10_000,
    "ai_sends": 100,
    "ai_modes": ",".join(ai_workloads.AI_MODES),
    "ai_rates": "100,300",
    "scale_procs": "1,2,4",
    "scale_rate": 300,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workload", help=f"comma-separated: {', '.join(WORKLOADS + EXTRA_WORKLOADS)}"
    )
    parser.add_argument("--preset", choices=sorted(PRESETS))
    parser.add_argument("--db", choices=("sqlite", "postgres", "mysql"), default="sqlite")
    parser.add_argument("--procs", type=int, choices=(1, 2), default=1)
    parser.add_argument("--duration", type=float, help="measured seconds (send, paced, history)")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--phase-seconds", type=float, help="fanout: seconds per rate")
    parser.add_argument("--rates", help="fanout: messages/s per phase, e.g. 100,300,1000")
    parser.add_argument(
        "--send-via",
        choices=("http", "ws"),
        default="http",
        help="fanout: senders post over HTTP or send on their own socket",
    )
    parser.add_argument("--connections", type=int, help="connections: target socket count")
    parser.add_argument("--conn-users", type=int, default=1000, help="connections: users")
    parser.add_argument("--ai-sends", type=int, help="ai: sequential patient sends")
    parser.add_argument("--ai-modes", help="ai-load: comma-separated of off, mock, stream, copilot")
    parser.add_argument("--ai-rates", help="ai-load: patient messages/s per phase, e.g. 100,300")
    parser.add_argument(
        "--ai-workers",
        type=int,
        default=0,
        help="ai-load: Celery AI worker processes (AI_WORKER=celery, Redis); 0: in-process",
    )
    parser.add_argument(
        "--copilot-every",
        type=float,
        default=ai_workloads.COPILOT_EVERY_SECONDS,
        help="ai-load copilot mode: seconds between one doctor's summaries",
    )
    parser.add_argument("--scale-procs", help="fanout-scale: process counts, e.g. 1,2,4")
    parser.add_argument("--scale-rate", type=int, help="fanout-scale: messages/s")
    parser.add_argument("--scale-users", type=int, default=2000, help="fanout-scale: users")
    parser.add_argument("--group-size", type=int, default=4, help="fanout-scale: members a group")
    parser.add_argument(
        "--app-root",
        type=Path,
        default=ROOT,
        help="serve the app of this checkout: an older commit, for an A/B (not webhooks, uploads)",
    )
    parser.add_argument(
        "--login-clients", type=int, default=8, help="login: concurrent login loops"
    )
    parser.add_argument(
        "--ws-compression",
        choices=("on", "off"),
        default="on",
        help="offer permessage-deflate as browsers do (on) or not",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra server setting for an experiment, e.g. DATABASE_POOL_SIZE=1 (repeatable)",
    )
    parser.add_argument(
        "--storage",
        choices=("local", "s3"),
        default="local",
        help="attachments: a local directory, or an S3-compatible server (moto, loopback)",
    )
    parser.add_argument("--att-clients", type=int, default=8, help="attachments: clients")
    parser.add_argument("--att-file-kib", type=int, default=1024, help="attachments: file size")
    parser.add_argument(
        "--webhook-rate", type=float, default=100.0, help="webhooks: patient messages/s"
    )
    parser.add_argument(
        "--webhook-modes",
        default=",".join(webhook_workloads.MODES),
        help="webhooks: comma-separated of off, ok, hanging",
    )
    parser.add_argument("--json-out", type=Path, help="append each result line to this file")
    parser.add_argument("--py-spy", type=Path, help="record py-spy profiles into this dir")
    parser.add_argument("--profile-label", default="", help="profile only this window label")
    parser.add_argument(
        "--py-spy-gil",
        action="store_true",
        help="sample only the thread holding the GIL (Python CPU, no runnable-queue noise)",
    )
    parser.add_argument(
        "--py-spy-native", action="store_true", help="include C frames (zlib, sqlite3, GC)"
    )
    args = parser.parse_args(argv)
    if not args.workload and not args.preset:
        parser.error("give --workload or --preset")
    preset = PRESETS.get(args.preset or "", {})
    for key, value in DEFAULTS.items():
        if getattr(args, key, None) is None:
            setattr(args, key, preset.get(key, value))
    workloads = args.workload.split(",") if args.workload else list(preset["workloads"])
    unknown = [name for name in workloads if name not in WORKLOADS + EXTRA_WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s): {', '.join(unknown)}")
    args.workloads = workloads
    return args


class PySpy:
    """`py-spy record` against each server PID for one measured window (raw collapsed stacks)."""

    def __init__(self, out_dir: Path, label: str, *, gil: bool, native: bool) -> None:
        self.out_dir = out_dir
        self.label = label
        self.gil = gil
        self.native = native
        self.name = ""
        self.processes: list[subprocess.Popen[bytes]] = []

    def hook(self, servers: ServerSet) -> Callable[[str, float], None]:
        def on_window(label: str, seconds: float) -> None:
            if self.processes or (self.label and label != self.label):
                return
            spy = Path(PYTHON).parent / "py-spy"
            for index, pid in enumerate(servers.pids):
                out = (
                    self.out_dir / f"{self.name}-{servers.db}-p{servers.procs}-{label}-{index}.txt"
                )
                command = [str(spy), "record", "-p", str(pid), "-d", str(int(seconds))]
                command += ["-r", "100", "--threads", "-f", "raw", "-o", str(out)]
                command += ["--gil"] if self.gil else []
                # Native unwinding must pause the process; otherwise sample without pausing.
                command += ["--native"] if self.native else ["--nonblocking"]
                self.processes.append(
                    subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                )

        return on_window

    def finish(self) -> None:
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()


async def run_ai_load(args: argparse.Namespace, spy: PySpy | None) -> list[dict[str, Any]]:
    """Every AI mode at every rate, each on fresh servers (`ai-load`)."""
    lines = []
    for mode in str(args.ai_modes).split(","):
        for rate in (float(r) for r in str(args.ai_rates).split(",")):
            streams = mode in ai_workloads.STREAMING_MODES
            stand_in = ai_workloads.StreamingStandIn() if streams else None
            if stand_in is not None:
                await stand_in.start()
            env = ai_workloads.server_env(mode, stand_in)
            env.update(dict(item.split("=", 1) for item in args.server_env))
            servers = ServerSet(
                db=args.db,
                procs=args.procs,
                env_overrides=env,
                root=args.app_root,
                ai_workers=args.ai_workers if mode != "off" else 0,
            )
            if spy is not None:
                spy.name = f"ai-load-{mode}"
                servers.window_hooks.append(spy.hook(servers))
            started = time.perf_counter()
            await servers.start()
            api = Api(servers.urls)
            try:
                result = await ai_workloads.ai_load(
                    servers,
                    api,
                    mode=mode,
                    rate=rate,
                    duration=args.duration or 15.0,
                    warmup=args.warmup,
                    copilot_every=args.copilot_every,
                )
            finally:
                await api.close()
                await servers.stop()
                if stand_in is not None:
                    await stand_in.stop()
                if spy is not None:
                    spy.finish()
            lines.append(
                {
                    "workload": "ai-load",
                    **servers.describe(),
                    "server_env": args.server_env,
                    "wall_seconds": round(time.perf_counter() - started, 1),
                    "result": result,
                }
            )
    return lines


async def run_webhooks(args: argparse.Namespace, spy: PySpy | None) -> list[dict[str, Any]]:
    """Webhooks off, a receiver answering at once, a receiver that hangs; each on fresh
    servers (`webhooks`)."""
    lines = []
    for mode in str(args.webhook_modes).split(","):
        receiver = None if mode == "off" else webhook_workloads.Receiver(hang=mode == "hanging")
        if receiver is not None:
            await receiver.start()
        env = webhook_workloads.server_env(mode, receiver)
        env.update(dict(item.split("=", 1) for item in args.server_env))
        servers = ServerSet(db=args.db, procs=args.procs, env_overrides=env)
        if spy is not None:
            spy.name = f"webhooks-{mode}"
            servers.window_hooks.append(spy.hook(servers))
        started = time.perf_counter()
        await servers.start()
        api = Api(servers.urls)
        try:
            result = await webhook_workloads.webhooks_load(
                servers,
                api,
                receiver,
                mode=mode,
                rate=args.webhook_rate,
                duration=args.duration or 15.0,
                warmup=args.warmup,
            )
        finally:
            await api.close()
            await servers.stop()
            if receiver is not None:
                await receiver.stop()
            if spy is not None:
                spy.finish()
        lines.append(
            {
                "workload": "webhooks",
                **servers.describe(),
                "server_env": args.server_env,
                "wall_seconds": round(time.perf_counter() - started, 1),
                "result": result,
            }
        )
    return lines


async def run_fanout_scale(args: argparse.Namespace, spy: PySpy | None) -> list[dict[str, Any]]:
    """The same traffic on each process count, fanning out through Redis (`fanout-scale`)."""
    lines = []
    for procs in (int(count) for count in str(args.scale_procs).split(",")):
        env = dict(item.split("=", 1) for item in args.server_env)
        servers = ServerSet(
            db=args.db, procs=procs, env_overrides=env, redis=True, root=args.app_root
        )
        if spy is not None:
            spy.name = f"fanout-scale-{procs}"
            servers.window_hooks.append(spy.hook(servers))
        started = time.perf_counter()
        await servers.start()
        api = Api(servers.urls)
        try:
            result = await scale_workloads.fanout_scale_point(
                servers,
                api,
                users=args.scale_users,
                group_size=args.group_size,
                rate=args.scale_rate,
                seconds=args.phase_seconds,
                drain_seconds=10.0,
                compression=args.ws_compression == "on",
            )
        finally:
            await api.close()
            await servers.stop()
            if spy is not None:
                spy.finish()
        lines.append(
            {
                "workload": "fanout-scale",
                **servers.describe(),
                "app_root": str(args.app_root),
                "server_env": args.server_env,
                "wall_seconds": round(time.perf_counter() - started, 1),
                "result": result,
            }
        )
    return lines


async def run_attachments(args: argparse.Namespace) -> dict[str, Any]:
    """`attachments` on the chosen store; the S3 shape talks to moto's server on loopback."""
    max_mb = 5
    async with attachment_workloads.store_env(args.storage) as store:
        env = {**store, "ATTACHMENT_MAX_MB": str(max_mb)}
        env.update(dict(item.split("=", 1) for item in args.server_env))
        servers = ServerSet(db=args.db, procs=args.procs, env_overrides=env)
        started = time.perf_counter()
        await servers.start()
        api = Api(servers.urls)
        try:
            result = await attachment_workloads.attachments(
                servers,
                api,
                clients=args.att_clients,
                file_kib=args.att_file_kib,
                max_mb=max_mb,
                duration=args.duration or 10.0,
                warmup=args.warmup,
            )
        finally:
            await api.close()
            await servers.stop()
    return {
        "workload": "attachments",
        **servers.describe(),
        "storage": args.storage,
        "server_env": args.server_env,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "result": result,
    }


async def run_workload(name: str, args: argparse.Namespace, spy: PySpy | None) -> dict[str, Any]:
    if name == "attachments":
        return await run_attachments(args)
    stub: StandInAI | None = None
    env: dict[str, str] = {}
    if name == "ai":
        stub = StandInAI()
        await stub.start()
        env = {"AI_ENABLED": "true", "AI_PROVIDER": "http", "AI_SERVICE_URL": stub.url}
    env.update(dict(item.split("=", 1) for item in args.server_env))
    servers = ServerSet(db=args.db, procs=args.procs, env_overrides=env, root=args.app_root)
    if spy is not None:
        spy.name = name
        servers.window_hooks.append(spy.hook(servers))
    started = time.perf_counter()
    await servers.start()
    api = Api(servers.urls)
    try:
        result = await _dispatch(name, args, servers, api, stub)
    finally:
        await api.close()
        await servers.stop()
        if stub is not None:
            await stub.stop()
        if spy is not None:
            spy.finish()
    return {
        "workload": name,
        **servers.describe(),
        "server_env": args.server_env,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "result": result,
    }


def _dispatch(
    name: str, args: argparse.Namespace, servers: ServerSet, api: Api, stub: StandInAI | None
) -> Awaitable[dict[str, Any]]:
    compression = args.ws_compression == "on"
    if name == "send":
        return http_workloads.send_closed(
            servers,
            api,
            users=100,
            group_size=10,
            duration=args.duration or 30.0,
            warmup=args.warmup,
        )
    if name == "send-paced":
        return http_workloads.send_paced(
            servers,
            api,
            users=100,
            group_size=10,
            per_user_rate=2.0,
            duration=args.duration or 20.0,
            warmup=args.warmup,
        )
    if name == "login":
        return account_workloads.login_mix(
            servers,
            api,
            accounts=50,
            login_clients=args.login_clients,
            senders=50,
            group_size=10,
            per_user_rate=2.0,
            duration=args.duration or 15.0,
            warmup=args.warmup,
        )
    if name == "history":
        return http_workloads.history(
            servers,
            api,
            readers=50,
            messages=10_000,
            duration=args.duration or 20.0,
            warmup=args.warmup,
        )
    if name == "fanout":
        return ws_workloads.fanout(
            servers,
            api,
            users=1000,
            group_size=10,
            rates=[int(rate) for rate in str(args.rates).split(",")],
            phase_seconds=args.phase_seconds,
            drain_seconds=10.0,
            compression=compression,
            send_via=args.send_via,
        )
    if name == "connections":
        return ws_workloads.connections(
            servers,
            api,
            target=args.connections,
            users=args.conn_users,
            step=1000,
            compression=compression,
        )
    if stub is None:
        raise RuntimeError("the ai workload needs the stand-in AI started by run_workload")
    return ws_workloads.ai_first_event(
        servers, api, stub, sends=args.ai_sends, groups=20, event_timeout=3.0
    )


def app_digest() -> str:
    """A short digest of app/**/*.py as benchmarked (the work tree may be ahead of HEAD)."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "app").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def machine() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "app"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.count("\n")
    with open("/proc/meminfo") as handle:
        mem_kib = int(handle.readline().split()[1])
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "app_files_modified": dirty,
        "app_sha256": app_digest(),
        "nproc": os.cpu_count(),
        "mem_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
    }


async def main(args: argparse.Namespace) -> int:
    info = machine()
    print(f"# IM bench {info} db={args.db} procs={args.procs}", flush=True)
    spy = None
    if args.py_spy is not None:
        args.py_spy.mkdir(parents=True, exist_ok=True)
        spy = PySpy(args.py_spy, args.profile_label, gil=args.py_spy_gil, native=args.py_spy_native)
    failed = 0
    for name in args.workloads:
        try:
            if name == "ai-load":
                lines = await run_ai_load(args, spy)
            elif name == "fanout-scale":
                lines = await run_fanout_scale(args, spy)
            elif name == "webhooks":
                lines = await run_webhooks(args, spy)
            else:
                lines = [await run_workload(name, args, spy)]
        except Exception as exc:
            failed += 1
            lines = [{"workload": name, "db": args.db, "procs": args.procs, "failed": repr(exc)}]
        for line in lines:
            line["machine"] = info
            text = orjson.dumps(line).decode()
            print(text, flush=True)
            if args.json_out is not None:
                with args.json_out.open("a") as handle:
                    handle.write(text + "\n")
            print_table(line)
    return 1 if failed else 0


def run() -> None:
    args = parse_args()
    try:
        import uvloop

        sys.exit(uvloop.run(main(args)))
    except ImportError:
        sys.exit(asyncio.run(main(args)))


if __name__ == "__main__":
    run()
