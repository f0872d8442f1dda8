"""Latency statistics, CPU accounting of the processes under test, and event-loop lag."""

from __future__ import annotations

import asyncio
import math
import os
import resource
import time
from dataclasses import dataclass, field
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]


def summarize_ms(latencies_s: list[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean in milliseconds of latencies given in seconds."""
    values = sorted(latencies_s)
    if not values:
        return {"count": 0, "p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 0.50) * 1000, 2),
        "p95_ms": round(percentile(values, 0.95) * 1000, 2),
        "p99_ms": round(percentile(values, 0.99) * 1000, 2),
        "max_ms": round(values[-1] * 1000, 2),
        "mean_ms": round(sum(values) / len(values) * 1000, 2),
    }


@dataclass
class Recorder:
    """Per-operation latencies and errors, recorded only inside the measured window."""

    window_start: float = 0.0
    window_end: float = float("inf")
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)

    def in_window(self, started: float) -> bool:
        return self.window_start <= started < self.window_end

    def ok(self, name: str, started: float, elapsed: float) -> None:
        if self.in_window(started):
            self.latencies.setdefault(name, []).append(elapsed)

    def fail(self, name: str, started: float, reason: str) -> None:
        if self.in_window(started):
            self.errors[name] = self.errors.get(name, 0) + 1
            if len(self.error_samples) < 5:
                self.error_samples.append(f"{name}: {reason}")

    def report(self, duration: float) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in sorted(set(self.latencies) | set(self.errors)):
            values = self.latencies.get(name, [])
            out[name] = {
                **summarize_ms(values),
                "per_s": round(len(values) / duration, 1) if duration > 0 else 0.0,
                "errors": self.errors.get(name, 0),
            }
        return out


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_runq_wait_seconds(pid: int) -> float:
    """Time the process's threads were runnable but waiting for a CPU (schedstat run_delay):
    on a shared machine, how much CPU the neighbours took from the server."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as handle:
                total += int(handle.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def process_rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB, from /proc/<pid>/status."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU used by the servers and by this client over a window, as % of one core."""

    def __init__(self, server_pids: list[int], worker_pids: list[int] | None = None) -> None:
        self.server_pids = server_pids
        self.worker_pids = worker_pids or []
        """AI worker processes (Celery): reported apart from the servers."""
        self._start = 0.0
        self._servers: list[float] = []
        self._workers: list[float] = []
        self._waits: list[float] = []
        self._client = 0.0

    def start(self) -> None:
        self._start = time.perf_counter()
        self._servers = [process_cpu_seconds(pid) for pid in self.server_pids]
        self._workers = [process_cpu_seconds(pid) for pid in self.worker_pids]
        self._waits = [process_runq_wait_seconds(pid) for pid in self.server_pids]
        self._client = self_cpu_seconds()

    def stop(self) -> dict[str, Any]:
        wall = max(1e-9, time.perf_counter() - self._start)
        servers = [
            round((process_cpu_seconds(pid) - before) / wall * 100, 1)
            for pid, before in zip(self.server_pids, self._servers, strict=True)
        ]
        waits = [
            round((process_runq_wait_seconds(pid) - before) / wall * 100, 1)
            for pid, before in zip(self.server_pids, self._waits, strict=True)
        ]
        client = round((self_cpu_seconds() - self._client) / wall * 100, 1)
        with open("/proc/loadavg") as handle:
            load = handle.read().split()[0]
        workers = [
            round((process_cpu_seconds(pid) - before) / wall * 100, 1)
            for pid, before in zip(self.worker_pids, self._workers, strict=True)
        ]
        return {
            **({"worker_cpu_pct": workers} if workers else {}),
            "server_cpu_pct": servers,
            "server_runq_wait_pct": waits,
            "client_cpu_pct": client,
            "loadavg_1m": float(load),
        }


class LoopLag:
    """How late this client's event loop wakes up: a saturated client inflates latencies."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.samples = []
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.samples.append(max(0.0, time.perf_counter() - started - self.interval))

    async def stop(self) -> dict[str, float]:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        lag = summarize_ms(self.samples)
        return {"client_loop_lag_p99_ms": lag["p99_ms"], "client_loop_lag_max_ms": lag["max_ms"]}
