"""A patient's IMAGE reaches the AI (SPEC §12): the `http` provider adds `attachments` with
absolute signed URLs on PUBLIC_BASE_URL; `openai` and `anthropic` send the image as a vision
content part when AI_VISION=true. Checked on the loopback stand-in of each wire format."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from tests.ai.helpers import wait_final
from tests.ai.standin import StandInAI
from tests.attachments import files
from tests.attachments.helpers import send_attachment, upload_ok
from tests.factories import Consultation, consultation, send_ok

PUBLIC = "https://im.example.org"


@pytest.fixture
async def ai_stub() -> AsyncIterator[StandInAI]:
    stub = StandInAI()
    await stub.start()
    try:
        yield stub
    finally:
        await stub.stop()


@pytest.fixture
def settings_overrides(
    request: pytest.FixtureRequest, ai_stub: StandInAI, tmp_path: Path
) -> dict[str, Any]:
    provider = getattr(request, "param", {}).get("ai_provider", "http")
    return {
        "storage_url": f"file://{tmp_path / 'attachments'}",
        "ai_enabled": True,
        "ai_provider": provider,
        "ai_service_url": ai_stub.url_for(provider),
        "ai_service_api_key": "stand-in-secret",
        "ai_service_timeout": 2.0,
        "ai_retry_backoff": 0.01,
        "public_base_url": PUBLIC,
        **getattr(request, "param", {}),
    }


@pytest.fixture
async def room(client: httpx.AsyncClient) -> Consultation:
    return await consultation(client)


async def send_image(client: httpx.AsyncClient, room: Consultation, caption: str | None) -> str:
    uploaded = await upload_ok(
        client, room.patient, room.group_id, files.image_bytes("JPEG"), "皮疹.jpg"
    )
    response = await send_attachment(
        client, room.patient, room.group_id, uploaded["attachment_id"], caption
    )
    assert response.status_code == 201, response.text
    await wait_final(client, room.group_id)
    return str(uploaded["attachment_id"])


async def test_http_provider_gets_signed_absolute_urls(
    client: httpx.AsyncClient, room: Consultation, ai_stub: StandInAI
) -> None:
    attachment_id = await send_image(client, room, "手臂上的红疹")
    body = ai_stub.received[0].body
    assert body["message"] == "手臂上的红疹"
    [attachment] = body["attachments"]
    assert (attachment["mime"], attachment["name"]) == ("image/jpeg", "皮疹.jpg")
    url = urlsplit(attachment["url"])
    assert f"{url.scheme}://{url.netloc}" == PUBLIC
    assert url.path == f"/api/attachments/{attachment_id}/content"
    # The record keeps what was asked, without the signed URL (a credential for an hour).
    [record] = await wait_final(client, room.group_id)
    assert json.loads(record["request_content"])["attachments"] == [
        {"name": "皮疹.jpg", "mime": "image/jpeg"}
    ]
    assert "sig=" not in record["request_content"]
    # The URL opens the image without any header.
    fetched = await client.get(f"{url.path}?{url.query}")
    assert fetched.status_code == 200
    assert files.size_of(fetched.content) == (800, 600)


async def test_http_provider_body_has_no_attachments_for_text_or_files(
    client: httpx.AsyncClient, room: Consultation, ai_stub: StandInAI
) -> None:
    await send_ok(client, room.patient, room.group_id, "只是文字")
    await wait_final(client, room.group_id)
    assert "attachments" not in ai_stub.received[0].body
    report = await upload_ok(client, room.patient, room.group_id, files.PDF, "a.pdf")
    sent = await send_attachment(client, room.patient, room.group_id, report["attachment_id"])
    assert sent.status_code == 201
    await send_ok(client, room.patient, room.group_id, "再问一句")
    await wait_final(client, room.group_id, count=2)
    assert len(ai_stub.received) == 2  # the FILE was not forwarded
    assert "attachments" not in ai_stub.received[1].body


async def test_an_image_without_caption_is_named_in_the_message(
    client: httpx.AsyncClient, room: Consultation, ai_stub: StandInAI
) -> None:
    await send_image(client, room, None)
    assert ai_stub.received[0].body["message"] == "[皮疹.jpg]"


def inline_jpeg(data_url: str) -> bytes:
    prefix = "data:image/jpeg;base64,"
    assert data_url.startswith(prefix)
    return base64.b64decode(data_url.removeprefix(prefix))


@pytest.mark.parametrize(
    "settings_overrides", [{"ai_provider": "openai", "ai_vision": True}], indirect=True
)
async def test_openai_vision_sends_the_image_itself(
    client: httpx.AsyncClient, room: Consultation, ai_stub: StandInAI
) -> None:
    await send_image(client, room, "看看")
    last = ai_stub.received[0].body["messages"][-1]
    assert last["role"] == "user"
    text, image = last["content"]
    assert text == {"type": "text", "text": "看看"}
    assert image["type"] == "image_url"
    sent = inline_jpeg(image["image_url"]["url"])
    assert files.format_of(sent) == "JPEG"
    assert files.size_of(sent) == (800, 600)
    assert not files.exif_of(sent).get_ifd(files.GPS_IFD)


@pytest.mark.parametrize(
    "settings_overrides", [{"ai_provider": "openai", "ai_vision": True}], indirect=True
)
async def test_a_large_photo_is_scaled_down_for_the_model(
    client: httpx.AsyncClient, room: Consultation, ai_stub: StandInAI
) -> None:
    uploaded = await upload_ok(
        client, room.patient, room.group_id, files.jpeg_with_gps((3000, 2000)), "big.jpg"
    )
    sent = await send_attachment(client, room.patient, room.group_id, uploaded["attachment_id"])
    assert sent.status_code == 201
    await wait_final(client, room.group_id)
    _, image = ai_stub.received[0].body["messages"][-1]["content"]
    assert files.size_of(inline_jpeg(image["image_url"]["url"])) == (1568, 1045)


@pytest.mark.parametrize(
    "settings_overrides", [{"ai_provider": "openai", "ai_vision": True}], indirect=True
)
async def test_an_image_gone_from_the_store_falls_back_to_its_url(
    client: httpx.AsyncClient, app: FastAPI, room: Consultation, ai_stub: StandInAI
) -> None:
    uploaded = await upload_ok(client, room.patient, room.group_id, files.image_bytes("PNG"))
    await app.state.server.attachments.storage.delete(uploaded["attachment_id"])
    sent = await send_attachment(client, room.patient, room.group_id, uploaded["attachment_id"])
    assert sent.status_code == 201
    await wait_final(client, room.group_id)
    _, image = ai_stub.received[0].body["messages"][-1]["content"]
    assert image["image_url"]["url"].startswith(
        f"{PUBLIC}/api/attachments/{uploaded['attachment_id']}/content?exp="
    )


@pytest.mark.parametrize("settings_overrides", [{"ai_provider": "openai"}], indirect=True)
async def test_openai_without_vision_sends_the_caption_only(
    client: httpx.AsyncClient, room: Consultation, ai_stub: StandInAI
) -> None:
    await send_image(client, room, "看看")
    assert ai_stub.received[0].body["messages"][-1] == {"role": "user", "content": "看看"}


@pytest.mark.parametrize(
    "settings_overrides", [{"ai_provider": "anthropic", "ai_vision": True}], indirect=True
)
async def test_anthropic_vision_sends_an_image_block(
    client: httpx.AsyncClient, room: Consultation, ai_stub: StandInAI
) -> None:
    await send_image(client, room, "看看")
    last = ai_stub.received[0].body["messages"][-1]
    text, image = last["content"]
    assert text == {"type": "text", "text": "看看"}
    assert image["type"] == "image"
    assert image["source"]["type"] == "base64"
    assert image["source"]["media_type"] == "image/jpeg"
    assert files.size_of(base64.b64decode(image["source"]["data"])) == (800, 600)
