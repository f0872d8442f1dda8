"""Render bench.py JSON lines (`--json-out`) as the Markdown tables of docs/benchmarks.md.

.venv/bin/python scripts/bench_markdown.py /tmp/bench/results/*.jsonl
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit.report import targets, verdict


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def shape(line: dict[str, Any]) -> str:
    return f"{line['db']} x{line['procs']}"


def cpu(result: dict[str, Any]) -> str:
    servers = "+".join(f"{value:.0f}" for value in result.get("server_cpu_pct", []))
    waits = "+".join(f"{value:.0f}" for value in result.get("server_runq_wait_pct", []))
    return f"{servers} / {waits} / {result.get('client_cpu_pct', 0):.0f}"


def per_cpu_second(rate: float, result: dict[str, Any]) -> str:
    """Throughput per second of server CPU: steadier than msgs/s on a shared machine."""
    busy = sum(result.get("server_cpu_pct", [])) / 100
    return f"{rate / busy:.0f}" if busy > 0 else "-"


def render(lines: list[dict[str, Any]]) -> str:
    out: list[str] = []
    by = {
        name: [ln for ln in lines if ln.get("workload") == name]
        for name in ("send", "send-paced", "fanout", "history", "connections", "ai")
    }
    lat = ("p50_ms", "p95_ms", "p99_ms", "max_ms")
    rows = []
    for line in by["send"] + by["send-paced"]:
        send = line["result"]["send"]
        rows.append(
            [
                line["workload"],
                shape(line),
                send.get("per_s", 0),
                *(send.get(key, 0) for key in lat),
                line["result"]["errors"],
                cpu(line["result"]),
                per_cpu_second(send.get("per_s", 0), line["result"]),
            ]
        )
    out.append("### send and send-paced (HTTP, 100 users in 10 groups of 10)\n")
    out.append(
        table(
            [
                "workload",
                "shape",
                "msgs/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "max ms",
                "errors",
                "CPU % server / runq wait / client",
                "msgs per server CPU-s",
            ],
            rows,
        )
    )
    rows = []
    for line in by["fanout"]:
        for phase in line["result"]["phases"]:
            rows.append(
                [
                    shape(line),
                    phase["rate"],
                    phase["achieved_rate"],
                    *(phase["e2e"].get(key, 0) for key in lat),
                    phase["send"]["p99_ms"],
                    f"{phase['delivered']}/{phase['expected']}",
                    phase["lost"],
                    phase["send_errors"],
                    cpu(phase),
                ]
            )
    out.append("\n### fanout (1,000 WebSocket users in 100 groups of 10; open-loop HTTP senders)\n")
    out.append(
        table(
            [
                "shape",
                "offered/s",
                "sent/s",
                "e2e p50",
                "e2e p95",
                "e2e p99",
                "e2e max",
                "send p99",
                "delivered/expected",
                "lost",
                "send errors",
                "CPU % server / runq wait / client",
            ],
            rows,
        )
    )
    rows = []
    for line in by["history"]:
        result = line["result"]
        for key in ("all", "list_page", "list_before_seq"):
            stats = result[key]
            rows.append(
                [
                    shape(line),
                    key,
                    stats["per_s"],
                    *(stats.get(k, 0) for k in lat),
                    stats["errors"],
                    cpu(result) if key == "all" else "",
                ]
            )
    out.append("\n### history (50 readers, one group of 10,000 messages)\n")
    out.append(
        table(
            [
                "shape",
                "request",
                "req/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "max ms",
                "errors",
                "CPU % server / runq wait / client",
            ],
            rows,
        )
    )
    rows = []
    for line in by["connections"]:
        result = line["result"]
        rows.append(
            [
                shape(line),
                result["held"],
                result["server_reported"],
                result["base_rss_kib"],
                result["final_rss_kib"],
                result["kib_per_connection"],
                result["ping_rtt"].get("p99_ms"),
                result["open_failures"],
                result["params"]["ws_compression"],
            ]
        )
    out.append("\n### connections (idle WebSockets, 1,000 users x 10 sockets)\n")
    out.append(
        table(
            [
                "shape",
                "held",
                "server count",
                "RSS before KiB",
                "RSS after KiB",
                "KiB/conn",
                "ping p99 ms",
                "failures",
                "deflate",
            ],
            rows,
        )
    )
    rows = []
    for line in by["ai"]:
        result = line["result"]
        for key in ("commit_to_first_ai_event", "send_to_first_ai_event", "send_to_ai_message"):
            rows.append(
                [
                    shape(line),
                    key,
                    *(result[key].get(k, 0) for k in lat),
                    result[key]["count"],
                    result["status"] if key.startswith("commit") else "",
                ]
            )
    out.append("\n### ai (patient send → first AI event; zero-latency stand-in AI)\n")
    out.append(
        table(["shape", "interval", "p50 ms", "p95 ms", "p99 ms", "max ms", "n", "status"], rows)
    )
    rows = []
    for line in lines:
        if "result" in line:
            rows += [[shape(line), text, verdict(met)] for text, met in targets(line)]
    out.append("\n### targets\n")
    out.append(table(["shape", "target", "verdict"], rows))
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    latest: dict[tuple[str, str, int], dict[str, Any]] = {}
    for path in args.files:  # a later line for the same workload and shape replaces an earlier
        for raw in path.read_text().splitlines():
            line = orjson.loads(raw)
            if "result" in line:
                latest[(line["workload"], line["db"], line["procs"])] = line
    print(render(list(latest.values())))


if __name__ == "__main__":
    main()
