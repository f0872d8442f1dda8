"""Start the servers under test exactly as bench.py does, print their URLs, hold them for
`--seconds` (or until Ctrl-C), then stop them and drop their database. For Locust runs:

    .venv/bin/python scripts/bench_serve.py --db postgres --procs 2 --seconds 120 &
    LOCUST_HOSTS=http://127.0.0.1:A,http://127.0.0.1:B .venv/bin/locust -f tests/locustfile.py \
        --headless -u 100 -r 20 -t 60s --host http://127.0.0.1:A --only-summary
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit.servers import ServerSet


async def main(args: argparse.Namespace) -> None:
    servers = ServerSet(db=args.db, procs=args.procs)
    await servers.start()
    try:
        print(",".join(servers.urls), flush=True)
        if args.url_file:
            args.url_file.write_text(",".join(servers.urls))
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(args.seconds)
    finally:
        await servers.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--procs", type=int, choices=(1, 2), default=1)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--url-file", type=Path, help="also write the comma-separated URLs here")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parser.parse_args()))
