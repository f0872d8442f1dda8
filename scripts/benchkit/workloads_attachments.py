"""The `attachments` workload (SPEC §12): upload and download throughput (MB/s and req/s) on the
store the servers use (a local directory, or an S3-compatible server), and the server's memory
while uploads over the limit are refused as they stream.

Phases, each a closed loop of `clients` concurrent clients for `duration` seconds:
- `upload-file`: a `file_kib` PDF (stored as sent: parse, spool, hash, store);
- `upload-image`: a 2000x1500 JPEG (decoded, re-encoded without EXIF, thumbnail made);
- `download`: the PDF back with a Bearer token (streamed from the store).
Then `over-limit`: `clients` concurrent uploads of 3x ATTACHMENT_MAX_MB each, refused with 413;
the servers' RSS is read before and after.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from benchkit.api import Api, BenchUser
from benchkit.servers import ServerSet
from benchkit.stats import Recorder, process_rss_kib
from benchkit.workloads_http import Window, measure

CHUNK = 256 * 1024
S3_KEYS = {"S3_ACCESS_KEY_ID": "bench", "S3_SECRET_ACCESS_KEY": "bench"}


@contextlib.asynccontextmanager
async def store_env(storage: str) -> AsyncIterator[dict[str, str]]:
    """Server settings for a fresh store: a temporary directory, or a bucket on moto's S3
    server (started here on a loopback port, stopped after)."""
    if storage == "local":
        with tempfile.TemporaryDirectory(prefix="bench-attachments-") as root:
            yield {"STORAGE_URL": f"file://{root}", "ATTACHMENT_SPOOL_DIR": f"{root}/spool"}
        return
    import aioboto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        bucket = f"bench-{secrets.token_hex(4)}"
        session = aioboto3.Session(
            aws_access_key_id=S3_KEYS["S3_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_KEYS["S3_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
        )
        async with session.client("s3", endpoint_url=endpoint) as s3:
            await s3.create_bucket(Bucket=bucket)
        yield {"STORAGE_URL": f"s3://{bucket}", "S3_ENDPOINT_URL": endpoint, **S3_KEYS}
    finally:
        server.stop()


def pdf_bytes(kib: int) -> bytes:
    return b"%PDF-1.4\n" + os.urandom(kib * 1024 - 9)


def jpeg_bytes() -> bytes:
    from PIL import Image

    image = Image.effect_noise((2000, 1500), 64).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


async def _upload(api: Api, user: BenchUser, group_id: str, name: str, data: bytes) -> str:
    response = await api.client(user).post(
        "/api/attachments",
        data={"group_id": group_id},
        files={"file": (name, data)},
        headers=user.headers,
    )
    response.raise_for_status()
    return str(response.json()["attachment_id"])


async def _closed_loops(
    servers: ServerSet,
    clients: int,
    duration: float,
    warmup: float,
    name: str,
    operation: Callable[[int], Awaitable[None]],
) -> dict[str, Any]:
    window = Window.after(warmup, duration)
    recorder = Recorder()

    async def loop(index: int) -> None:
        while time.perf_counter() < window.end:
            started = time.perf_counter()
            try:
                await operation(index)
            except Exception as exc:
                recorder.fail(name, started, repr(exc)[:200])
                await asyncio.sleep(0.05)
                continue
            recorder.ok(name, started, time.perf_counter() - started)

    tasks = [asyncio.create_task(loop(index)) for index in range(clients)]
    extra = await measure(servers, recorder, window, *tasks, label=name)
    stats = recorder.report(duration).get(name, {"count": 0, "per_s": 0.0, "errors": 0})
    return {**stats, **extra}


async def _refused_uploads(
    api: Api, user: BenchUser, group_id: str, clients: int, size: int
) -> list[int]:
    async def body() -> AsyncIterator[bytes]:
        boundary = "bench-boundary"
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="group_id"\r\n\r\n'
            f'{group_id}\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big.pdf"\r\n\r\n%PDF-1.4\n'
        ).encode()
        sent = 0
        piece = b"\0" * CHUNK
        while sent < size:
            yield piece
            sent += len(piece)
        yield f"\r\n--{boundary}--\r\n".encode()

    async def one() -> int:
        try:
            response = await api.client(user).post(
                "/api/attachments",
                content=body(),
                headers={
                    **user.headers,
                    "Content-Type": "multipart/form-data; boundary=bench-boundary",
                },
            )
        except Exception:  # the server may close the connection after its 413
            return -1
        return response.status_code

    return list(await asyncio.gather(*(one() for _ in range(clients))))


async def attachments(
    servers: ServerSet,
    api: Api,
    *,
    clients: int,
    file_kib: int,
    max_mb: int,
    duration: float,
    warmup: float,
) -> dict[str, Any]:
    [group] = await api.build_groups(1, clients + 1)
    users = group.members
    pdf = pdf_bytes(file_kib)
    jpeg = await asyncio.to_thread(jpeg_bytes)
    uploaded: list[str] = []

    async def upload_file(index: int) -> None:
        uploaded.append(await _upload(api, users[index], group.group_id, "report.pdf", pdf))

    async def upload_image(index: int) -> None:
        await _upload(api, users[index], group.group_id, "photo.jpg", jpeg)

    async def download(index: int) -> None:
        attachment_id = uploaded[index % len(uploaded)]
        user = users[index]
        async with api.client(user).stream(
            "GET", f"/api/attachments/{attachment_id}/content", headers=user.headers
        ) as response:
            response.raise_for_status()
            async for _ in response.aiter_bytes(CHUNK):
                pass

    phases: dict[str, Any] = {}
    for name, operation, size in (
        ("upload-file", upload_file, len(pdf)),
        ("upload-image", upload_image, len(jpeg)),
        ("download", download, len(pdf)),
    ):
        stats = await _closed_loops(servers, clients, duration, warmup, name, operation)
        stats["mb_per_s"] = round(stats.get("per_s", 0.0) * size / 1e6, 1)
        stats["bytes_each"] = size
        phases[name] = stats
    rss_before = [process_rss_kib(pid) for pid in servers.pids]
    statuses = await _refused_uploads(
        api, users[0], group.group_id, clients, 3 * max_mb * 1024 * 1024
    )
    rss_after = [process_rss_kib(pid) for pid in servers.pids]
    return {
        "params": {"clients": clients, "file_kib": file_kib, "max_mb": max_mb},
        "phases": phases,
        "over_limit": {
            "uploads": len(statuses),
            "each_mb": 3 * max_mb,
            "statuses": sorted(set(statuses)),
            "rss_kib_before": rss_before,
            "rss_kib_after": rss_after,
        },
        "errors": sum(int(phase.get("errors", 0)) for phase in phases.values()),
    }
