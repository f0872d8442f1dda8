"""Readable tables for bench results, with the targets of the performance issue checked."""

from __future__ import annotations

from typing import Any

LAT = ("p50_ms", "p95_ms", "p99_ms", "max_ms")


def _row(cells: list[Any], widths: list[int]) -> str:
    return "  ".join(str(cell).rjust(width) for cell, width in zip(cells, widths, strict=False))


def _table(header: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    print(_row(header, widths))
    print(_row(["-" * width for width in widths], widths))
    for row in rows:
        print(_row(row, widths))


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def targets(line: dict[str, Any]) -> list[tuple[str, bool]]:
    """(description, met) for each target of the issue that this result speaks to."""
    result, name = line.get("result", {}), line.get("workload")
    checks: list[tuple[str, bool]] = []
    if name == "send":
        send = result["send"]
        checks.append(("send closed loop >= 1000 msgs/s", send.get("per_s", 0) >= 1000))
        checks.append(("send closed loop p99 < 150 ms", 0 < send.get("p99_ms", 1e9) < 150))
        checks.append(("send closed loop 0 errors", result["errors"] == 0))
    elif name == "send-paced":
        send = result["send"]
        checks.append(("send paced 200/s p99 < 25 ms", 0 < send.get("p99_ms", 1e9) < 25))
        checks.append(("send paced 0 errors", result["errors"] == 0))
    elif name == "fanout":
        for phase in result["phases"]:
            limit = {300: 100, 1000: 250}.get(phase["rate"])
            if limit is not None:
                p99 = phase["e2e"].get("p99_ms", 1e9)
                checks.append((f"fanout {phase['rate']}/s e2e p99 < {limit} ms", 0 < p99 < limit))
            checks.append((f"fanout {phase['rate']}/s 0 lost", phase["lost"] == 0))
    elif name == "history":
        overall = result["all"]
        checks.append(("history >= 1500 req/s", overall["per_s"] >= 1500))
        checks.append(("history p99 < 100 ms", 0 < overall["p99_ms"] < 100))
    elif name == "connections":
        per_process = max(result["server_reported"] or [0])
        checks.append((">= 10,000 connections in one process", per_process >= 10_000))
        checks.append(("< 64 KiB per connection", result["kib_per_connection"] < 64))
    elif name == "login":
        alone, during = result["send_alone"], result["send_during_logins"]
        checks.append(("login 0 errors", result["errors"] == 0))
        checks.append(
            (
                "send p99 with logins within 2x of alone (+5 ms)",
                0 < during.get("p99_ms", 1e9) <= 2 * alone.get("p99_ms", 0) + 5,
            )
        )
    elif name == "ai":
        first = result["commit_to_first_ai_event"]
        checks.append(("ai commit -> first AI event p99 < 20 ms", 0 < first["p99_ms"] < 20))
    elif name == "ai-load":
        params, p99 = result["params"], result["send"].get("p99_ms", 1e9)
        limit = 50 if params["rate"] <= 100 else 100
        checks.append(
            (
                f"ai-load {params['mode']} {params['rate']:g}/s send p99 < {limit} ms",
                0 < p99 < limit,
            )
        )
        if params["mode"] != "off":
            first = result["commit_to_first_ai_event"].get("p99_ms", 1e9)
            checks.append(("ai-load commit -> first AI event p99 < 50 ms", 0 < first < 50))
        checks.append(("ai-load 0 lost, 0 errors", result["errors"] == 0))
    return checks


def print_table(line: dict[str, Any]) -> None:
    name = line.get("workload")
    print(f"\n== {name}  db={line.get('db')}  procs={line.get('procs')} ==")
    if "failed" in line:
        print(f"FAILED: {line['failed']}\n")
        return
    result = line["result"]
    if name in ("send", "send-paced"):
        send = result["send"]
        _table(
            ["msgs/s", *LAT, "errors", "server cpu %", "runq wait %", "client cpu %", "lag p99"],
            [
                [
                    send.get("per_s", 0),
                    *(send.get(key, 0) for key in LAT),
                    result["errors"],
                    result["server_cpu_pct"],
                    result["server_runq_wait_pct"],
                    result["client_cpu_pct"],
                    result["client_loop_lag_p99_ms"],
                ]
            ],
        )
    elif name == "fanout":
        rows = [
            [
                phase["rate"],
                phase["achieved_rate"],
                *(phase["e2e"].get(key, 0) for key in LAT),
                phase["send"]["p99_ms"],
                f"{phase['delivered']}/{phase['expected']}",
                phase["lost"],
                phase["send_errors"],
                phase["server_cpu_pct"],
                phase["server_runq_wait_pct"],
                phase["client_cpu_pct"],
            ]
            for phase in result["phases"]
        ]
        header = ["rate", "sent/s", "e2e p50", "e2e p95", "e2e p99", "e2e max", "send p99"]
        _table(
            [*header, "delivered", "lost", "errors", "server cpu %", "runq %", "client cpu %"], rows
        )
        print(f"senders: {result['params'].get('send_via', 'http')}")
    elif name == "history":
        rows = [
            [
                key,
                result[key]["per_s"],
                *(result[key].get(lat, 0) for lat in LAT),
                result[key]["errors"],
            ]
            for key in ("all", "list_page", "list_before_seq")
            if key in result
        ]
        _table(["request", "req/s", *LAT, "errors"], rows)
        print(
            f"seeded {result['params']['messages']} messages in {result['seed_seconds']} s;"
            f" server cpu {result['server_cpu_pct']} %"
            f" (runq wait {result['server_runq_wait_pct']} %),"
            f" client cpu {result['client_cpu_pct']} %"
        )
    elif name == "connections":
        rows = [[s["connections"], s["open_per_s"], s["rss_kib"]] for s in result["steps"]]
        _table(["connections", "opened/s", "server RSS KiB"], rows)
        print(
            f"held {result['held']} (server says {result['server_reported']}),"
            f" {result['kib_per_connection']} KiB per connection,"
            f" ping p99 {result['ping_rtt'].get('p99_ms')} ms, failures {result['open_failures']}"
        )
    elif name == "login":
        rows = [
            [key, result[key].get("per_s", 0), *(result[key].get(lat, 0) for lat in LAT)]
            for key in ("send_alone", "send_during_logins", "login")
        ]
        _table(["operation", "per s", *LAT], rows)
        print(
            f"server cpu {result['server_cpu_pct_alone']} % alone,"
            f" {result['server_cpu_pct']} % with logins (runq {result['server_runq_wait_pct']} %);"
            f" machine load {result['loadavg_1m']}"
        )
    elif name == "ai":
        print(f"status: {result['status']} (stand-in AI calls: {result['stub_calls']})")
        rows = [
            [key, *(result[key].get(lat, 0) for lat in LAT), result[key]["count"]]
            for key in ("commit_to_first_ai_event", "send_to_first_ai_event", "send_to_ai_message")
        ]
        _table(["interval", *LAT, "n"], rows)
    elif name == "ai-load":
        params, send = result["params"], result["send"]
        first = result.get("commit_to_first_ai_event", {})
        _table(
            [
                "AI",
                "rate",
                "sent/s",
                *LAT,
                "first AI event p99",
                "ok/failed/missing",
                "errors",
                "server cpu %",
                "AI worker cpu %",
            ],
            [
                [
                    params["mode"] + (" (celery)" if line.get("ai_workers") else ""),
                    params["rate"],
                    send.get("per_s", 0),
                    *(send.get(key, 0) for key in LAT),
                    first.get("p99_ms", "-"),
                    "/".join(
                        str(result.get(key, "-"))
                        for key in ("ai_success", "ai_failed", "ai_missing")
                    ),
                    result["errors"],
                    result["server_cpu_pct"],
                    result.get("worker_cpu_pct", "-"),
                ]
            ],
        )
    elif name == "fanout-scale":
        _table(
            [
                "procs",
                "sent",
                "delivered",
                "lost",
                "e2e p50",
                "e2e p99",
                "cpu ms/delivered",
                "less idle",
                "idle cpu %",
                "heard/sent",
                "procs/group",
                "msgs/transaction",
                "envelopes/publish",
                "server cpu s",
            ],
            [
                [
                    line.get("procs"),
                    result["sent"],
                    result["delivered"],
                    result["lost"],
                    result["e2e"].get("p50_ms", 0),
                    result["e2e"].get("p99_ms", 0),
                    result["cpu_ms_per_delivered"],
                    result["traffic_cpu_ms_per_delivered"],
                    result["idle_cpu_pct"],
                    result["envelopes_heard_per_message_sent"],
                    result["instances_per_group"],
                    result.get("messages_per_transaction"),
                    result.get("envelopes_per_publish"),
                    result["server_cpu_seconds"],
                ]
            ],
        )
    elif name == "attachments":
        _attachments_table(line)
    for description, met in targets(line):
        print(f"  target: {description:45s} {verdict(met)}")
    print()


def _attachments_table(line: dict[str, Any]) -> None:
    result = line["result"]
    print(f"storage={line.get('storage')}  clients={result['params']['clients']}")
    _table(
        ["phase", "bytes each", "req/s", "MB/s", *LAT, "errors", "server cpu %"],
        [
            [
                phase,
                stats["bytes_each"],
                stats.get("per_s", 0),
                stats["mb_per_s"],
                *(stats.get(key, 0) for key in LAT),
                stats.get("errors", 0),
                stats.get("server_cpu_pct", 0),
            ]
            for phase, stats in result["phases"].items()
        ],
    )
    over = result["over_limit"]
    print(
        f"over the limit: {over['uploads']} x {over['each_mb']} MB -> {over['statuses']}; "
        f"server RSS KiB {over['rss_kib_before']} -> {over['rss_kib_after']}"
    )
