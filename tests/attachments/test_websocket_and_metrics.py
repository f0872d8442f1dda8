"""Attachments over the WebSocket (send_message with attachment_id; the pushed event and sync
carry signed links) and the upload metrics on /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.attachments import files
from tests.attachments.helpers import upload, upload_ok
from tests.conftest import LiveServer
from tests.factories import TestUser, consultation
from tests.websocket.wsclient import WSClient


@pytest.fixture
async def sockets(live_server: LiveServer) -> AsyncIterator[list[WSClient]]:
    opened: list[WSClient] = []
    yield opened
    for socket in opened:
        await socket.close()


async def connect(live: LiveServer, opened: list[WSClient], user: TestUser) -> WSClient:
    socket = await WSClient.open(live, user)
    opened.append(socket)
    return socket


async def test_send_over_the_websocket_pushes_signed_links(
    live_server: LiveServer, live_client: httpx.AsyncClient, sockets: list[WSClient]
) -> None:
    room = await consultation(live_client)
    uploaded = await upload_ok(
        live_client, room.patient, room.group_id, files.image_bytes("PNG"), "a.png"
    )
    doctor = await connect(live_server, sockets, room.doctor)
    patient = await connect(live_server, sockets, room.patient)
    sent = await patient.request(
        {
            "type": "send_message",
            "group_id": room.group_id,
            "attachment_id": uploaded["attachment_id"],
            "client_msg_id": "c1",
        },
        "message_sent",
    )
    assert sent["message"]["msg_type"] == "IMAGE"
    assert sent["message"]["attachment"]["url"].startswith("/api/attachments/")
    pushed, _ = await doctor.expect("message")
    attachment = pushed["message"]["attachment"]
    assert attachment["attachment_id"] == uploaded["attachment_id"]
    image = await live_client.get(attachment["thumbnail_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/webp"
    synced = await doctor.request({"type": "sync", "cursors": {room.group_id: 0}}, "sync_result")
    carrying = [m for m in synced["messages"] if m["attachment"] is not None]
    assert carrying[0]["attachment"]["url"].startswith("/api/attachments/")
    again = await patient.request(
        {
            "type": "send_message",
            "group_id": room.group_id,
            "attachment_id": uploaded["attachment_id"],
        },
        "error",
    )
    assert again["code"] == "INVALID_ATTACHMENT"
    empty = await patient.request({"type": "send_message", "group_id": room.group_id}, "error")
    assert empty["code"] == "VALIDATION_ERROR"


def metric(text: str, name: str, **labels: str) -> float:
    wanted = name + (
        "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else ""
    )
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.split()[-1])
    return 0.0


async def test_metrics_count_uploads_bytes_and_refusals(client: httpx.AsyncClient) -> None:
    room = await consultation(client)

    async def scrape() -> dict[str, Any]:
        text = (await client.get("/metrics")).text
        return {
            "pdf": metric(text, "im_attachment_uploads_total", kind="pdf"),
            "bytes": metric(text, "im_attachment_upload_bytes_total"),
            "415": metric(text, "im_attachment_refused_total", reason="unsupported_media_type"),
            "empty": metric(text, "im_attachment_refused_total", reason="empty_file"),
        }

    before = await scrape()
    await upload_ok(client, room.patient, room.group_id, files.PDF, "a.pdf")
    assert (await upload(client, room.patient, room.group_id, files.HTML)).status_code == 415
    assert (await upload(client, room.patient, room.group_id, b"")).status_code == 422
    after = await scrape()
    assert after["pdf"] == before["pdf"] + 1
    assert after["bytes"] == before["bytes"] + len(files.PDF)
    assert after["415"] == before["415"] + 1
    assert after["empty"] == before["empty"] + 1
