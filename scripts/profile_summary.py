"""Summarise py-spy raw (collapsed) stacks: top self and inclusive frames, per thread.

.venv/bin/python scripts/profile_summary.py /tmp/prof/send-sqlite-p1-window-0.txt [--top 25]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def short(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['func']} ({path})"


def package(frame: str) -> str:
    """Where a leaf frame's code lives: a site-package, `app/...` or the stdlib module."""
    match = FRAME.match(frame)
    path = match["file"] if match else frame
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/work/main/app/" in path or path.startswith("app/"):
        return "app/" + path.split("app/", 1)[1].split("/", 1)[0]
    if "python3.11/" in path:
        return "stdlib:" + path.split("python3.11/", 1)[1].split("/", 1)[0].removesuffix(".py")
    return path.split("/", 1)[0] or "?"


def summarise(path: Path, top: int, grep: str) -> None:
    packages: Counter[str] = Counter()
    self_counts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for raw in path.read_text().splitlines():
        stack, _, count_text = raw.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        threads[frames[0]] += count
        names = [short(frame) for frame in frames[1:]]
        if names:
            self_counts[names[-1]] += count
            packages[package(frames[-1])] += count
        for name in set(names):
            inclusive[name] += count
    print(f"{path.name}: {total} samples")
    print("\n-- threads --")
    for name, count in threads.most_common(8):
        print(f"{count / total:6.1%}  {name}")
    print("\n-- self time by package (C code is charged to its Python caller) --")
    for name, count in packages.most_common(15):
        print(f"{count / total:6.1%}  {name}")
    print("\n-- self (leaf) --")
    for name, count in self_counts.most_common(top):
        print(f"{count / total:6.1%}  {name}")
    print("\n-- inclusive --")
    shown = 0
    for name, count in inclusive.most_common():
        if grep and grep not in name:
            continue
        print(f"{count / total:6.1%}  {name}")
        shown += 1
        if shown >= top:
            break


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--grep", default="", help="inclusive: only frames containing this")
    args = parser.parse_args()
    for path in args.files:
        summarise(path, args.top, args.grep)


if __name__ == "__main__":
    main()
