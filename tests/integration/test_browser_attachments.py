"""Attachments in the web client (SPEC §12) in headless Chromium against `python -m app`: the
patient attaches a photo and a PDF, the doctor sees the thumbnail (loaded under the CSP from a
signed link) and the file's link; a refused file is explained in words."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.attachments import files
from tests.integration.browser_kit import (
    People,
    Server,
    consultation_group,
    create_user,
    crowd_for,
    launch_browser,
    open_group,
    running_server,
    signed_in_page,
    t,
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch_browser()


@pytest.fixture
def people(browser: Browser, request: pytest.FixtureRequest) -> Iterator[People]:
    yield from crowd_for(browser, request)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running_server(tmp_path_factory.mktemp("attachments"), AI_ENABLED="false")


@pytest.mark.parametrize(
    ("lang", "layout"),
    [pytest.param("zh-CN", "phone", id="zh-phone"), pytest.param("en", "desktop", id="en-desktop")],
)
def test_photo_and_report_are_sent_and_shown(
    server: Server, people: People, tmp_path: Path, lang: str, layout: str
) -> None:
    doc = create_user(server, f"Dr. Att {lang}", "DOCTOR")
    pat = create_user(server, f"Pat Att {lang}", "PATIENT")
    name = f"Att {lang} {layout}"
    consultation_group(server, doc, pat, name)
    doctor = signed_in_page(people, server, doc, lang, layout)
    patient = signed_in_page(people, server, pat, lang, layout)
    open_group(doctor, name)
    open_group(patient, name)

    photo = tmp_path / "皮疹.jpg"
    photo.write_bytes(files.jpeg_with_gps())
    patient.locator("#attach-input").set_input_files(str(photo))
    image = doctor.locator("#message-list .attachment.image img")
    expect(image).to_have_count(1)
    if layout == "desktop":  # the group list beside the chat says what came
        preview = doctor.locator("#group-list .group-preview").first
        expect(preview).to_contain_text(t(lang, "attach.photo"))
    expect(image).to_have_attribute("alt", "皮疹.jpg")
    doctor.wait_for_function(
        "() => document.querySelector('#message-list .attachment.image img')?.naturalWidth > 0"
    )
    assert image.evaluate("img => img.naturalWidth") == 320

    report = tmp_path / "化验单.pdf"
    report.write_bytes(files.PDF)
    patient.locator("#attach-input").set_input_files(str(report))
    link = doctor.locator("#message-list .attachment.file")
    expect(link).to_contain_text("化验单.pdf")
    if layout == "desktop":
        expect(preview).to_contain_text("[化验单.pdf]")
    expect(patient.locator("#message-list .msg.pending")).to_have_count(0)
    people.shot(doctor, f"attachments-{lang}-{layout}")

    people.watch(patient).allow_http_errors = True  # the 415 that the toast explains
    page = tmp_path / "page.html"
    page.write_bytes(files.HTML)
    patient.locator("#attach-input").set_input_files(str(page))
    expect(patient.locator("#toasts")).to_contain_text(t(lang, "error.UNSUPPORTED_MEDIA_TYPE"))
    expect(doctor.locator("#message-list .attachment")).to_have_count(2)
