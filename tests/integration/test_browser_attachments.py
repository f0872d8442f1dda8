"""Attachments in the web client (SPEC §12) in headless Chromium against `python -m app`: the
patient attaches a photo and a PDF, the doctor sees the thumbnail (loaded under the CSP from a
signed link) and the file's card; a refused file is explained in words. Then (SPEC §16) a pasted
photo and a dropped file take the same path, with the composer's progress bar going to 100 %
under a slow upload and a cancel that sends nothing; the thumbnail opens the lightbox, which
Esc and its close button close, giving the focus back to the thumbnail."""

from __future__ import annotations

import base64
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

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
    yield from running_server(
        tmp_path_factory.mktemp("attachments"), AI_ENABLED="false", ATTACHMENT_MAX_MB="1"
    )


# A doctor's page asks for the copilot's records, which a server without AI answers with 503.
COPILOT_OFF = re.compile(r"status of 503")
BOTH_LANGUAGES = pytest.mark.parametrize(
    ("lang", "layout"),
    [pytest.param("zh-CN", "phone", id="zh-phone"), pytest.param("en", "desktop", id="en-desktop")],
)


def consultation_pages(
    server: Server, people: People, label: str, lang: str, layout: str
) -> tuple[Page, Page]:
    """A doctor's and a patient's page, signed in and open on a new consultation of theirs."""
    doc = create_user(server, f"Dr. {label} {lang}", "DOCTOR")
    pat = create_user(server, f"Pat {label} {lang}", "PATIENT")
    name = f"{label} {lang} {layout}"
    consultation_group(server, doc, pat, name)
    doctor = signed_in_page(people, server, doc, lang, layout)
    people.watch(doctor).allow = (COPILOT_OFF,)
    patient = signed_in_page(people, server, pat, lang, layout)
    open_group(doctor, name)
    open_group(patient, name)
    return doctor, patient


@BOTH_LANGUAGES
def test_photo_and_report_are_sent_and_shown(
    server: Server, people: People, tmp_path: Path, lang: str, layout: str
) -> None:
    doctor, patient = consultation_pages(server, people, "Att", lang, layout)

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
    expect(link.locator(".attachment-kind")).to_have_text("PDF")
    expect(link.locator(".attachment-download")).to_have_text(t(lang, "attach.download"))
    expect(link).to_have_attribute("download", "化验单.pdf")
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


def noise_png(side: int) -> bytes:
    """A picture that does not compress: about 3 * side**2 bytes."""
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


PERCENTS = """() => {
  window.__percents = [];
  const seen = () => {
    const status = document.querySelector('#upload-status');
    if (status) window.__percents.push(Number(status.dataset.percent));
  };
  new MutationObserver(seen).observe(document.body,
    { subtree: true, childList: true, attributes: true, attributeFilter: ['data-percent'] });
}"""

# A paste or a drop as the browser makes it: a DataTransfer holding a File.
TRANSFER = """(name, type, b64) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type }));
  return data;
}"""


def paste_file(page: Page, name: str, mime: str, data: bytes) -> None:
    page.evaluate(
        f"""([name, type, b64]) => {{
          const data = ({TRANSFER})(name, type, b64);
          const box = document.querySelector('#composer-input');
          box.focus();
          const init = {{ clipboardData: data, bubbles: true, cancelable: true }};
          box.dispatchEvent(new ClipboardEvent('paste', init));
        }}""",
        [name, mime, base64.b64encode(data).decode()],
    )


def drag_file(
    page: Page, name: str, mime: str, data: bytes, *, drop: bool = True, shot: Any = None
) -> None:
    """Drag a file over the conversation (the drop target shows), then drop it (or leave)."""
    page.evaluate(
        f"""([name, type, b64]) => {{
          window.__drag = ({TRANSFER})(name, type, b64);
          const over = document.querySelector('#messages');
          const init = {{ dataTransfer: window.__drag, bubbles: true, cancelable: true }};
          for (const kind of ['dragenter', 'dragover']) {{
            over.dispatchEvent(new DragEvent(kind, init));
          }}
        }}""",
        [name, mime, base64.b64encode(data).decode()],
    )
    expect(page.locator("#drop-target")).to_be_visible()
    if shot:
        shot(page)
    page.evaluate(
        """(drop) => {
          const init = { dataTransfer: window.__drag, bubbles: true, cancelable: true };
          const kind = drop ? 'drop' : 'dragleave';
          document.querySelector('#messages').dispatchEvent(new DragEvent(kind, init));
        }""",
        drop,
    )
    expect(page.locator("#drop-target")).to_have_count(0)


def throttle_uploads(page: Page, bytes_per_second: int) -> Any:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )
    return cdp


@BOTH_LANGUAGES
def test_paste_drop_progress_and_lightbox(
    server: Server, people: People, tmp_path: Path, lang: str, layout: str
) -> None:
    doctor, patient = consultation_pages(server, people, "Drop", lang, layout)
    patient.evaluate(PERCENTS)

    # A pasted photo is uploaded and sent; the progress bar reaches 100 % and goes.
    paste_file(patient, "粘贴.png", "image/png", files.image_bytes("PNG", (640, 480)))
    images = doctor.locator("#message-list .attachment.image")
    expect(images).to_have_count(1)
    expect(patient.locator("#upload-status")).to_have_count(0)
    assert 100 in patient.evaluate("window.__percents")
    expect(patient.locator("#composer-input")).to_have_value("")

    # A file dragged over and away: the drop target comes and goes, nothing is sent.
    drag_file(
        patient,
        "不发.pdf",
        "application/pdf",
        files.PDF,
        drop=False,
        shot=lambda page: people.shot(page, f"drop-target-{lang}-{layout}"),
    )
    expect(patient.locator("#upload-status")).to_have_count(0)

    # A dropped file under a slow upload: the bar moves, finishes and goes.
    patient.evaluate("window.__percents = []")
    cdp = throttle_uploads(patient, 150_000)
    drag_file(patient, "检查报告.pdf", "application/pdf", files.PDF + b"%" + os.urandom(300_000))
    status = patient.locator("#upload-status")
    expect(status).to_be_visible()
    expect(status.locator("#upload-progress")).to_be_visible()
    if layout == "phone":
        bar = status.bounding_box()
        assert bar and bar["x"] >= 0 and bar["x"] + bar["width"] <= 390
    patient.wait_for_function(
        "() => Number(document.querySelector('#upload-status')?.dataset.percent) >= 20"
    )
    people.shot(patient, f"upload-progress-{lang}-{layout}")
    cards = doctor.locator("#message-list .attachment.file")
    expect(cards).to_contain_text("检查报告.pdf", timeout=20_000)
    expect(status).to_have_count(0)
    percents = patient.evaluate("window.__percents")
    assert percents[-1] == 100, percents
    assert any(0 < p < 100 for p in percents), f"no progress in between: {percents}"
    assert percents == sorted(percents), percents

    # Cancelled half-way: nothing is sent, and the person is told.
    drag_file(patient, "取消.png", "image/png", noise_png(300))
    expect(status).to_be_visible()
    patient.wait_for_function(
        "() => Number(document.querySelector('#upload-status')?.dataset.percent) > 0"
    )
    patient.locator("#upload-cancel").click()
    expect(status).to_have_count(0)
    expect(patient.locator("#toasts")).to_contain_text(t(lang, "attach.cancelled"))
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )

    # Too large (the server takes 1 MB here): the 413 is worded, nothing is sent.
    people.watch(patient).allow_http_errors = True
    drag_file(patient, "大.png", "image/png", noise_png(700))
    expect(patient.locator("#toasts")).to_contain_text(t(lang, "error.ATTACHMENT_TOO_LARGE"))
    expect(patient.locator("#toasts")).to_contain_text(
        t(lang, "attach.failed_named", name="大.png")
    )
    expect(status).to_have_count(0)
    doctor.wait_for_timeout(300)
    expect(doctor.locator("#message-list .attachment")).to_have_count(2)

    # A drag of text is not a file drop: no drop target.
    patient.evaluate(
        """() => {
          const data = new DataTransfer();
          data.setData('text/plain', 'hello');
          document.querySelector('#messages').dispatchEvent(
            new DragEvent('dragenter', { dataTransfer: data, bubbles: true, cancelable: true }));
        }"""
    )
    expect(patient.locator("#drop-target")).to_have_count(0)

    # Several files picked at once go one after another, in order.
    notes = [tmp_path / "notes-1.txt", tmp_path / "notes-2.txt"]
    for note in notes:
        note.write_bytes(files.TEXT)
    patient.locator("#attach-input").set_input_files([str(note) for note in notes])
    expect(cards).to_have_count(3)
    expect(cards.nth(1)).to_contain_text("notes-1.txt")
    expect(cards.nth(2)).to_contain_text("notes-2.txt")
    expect(cards.nth(2).locator(".attachment-kind")).to_have_text("TXT")

    # The lightbox: the full picture (loaded under the CSP), Esc and the close button.
    thumb = images.first
    thumb.click()
    lightbox = doctor.locator("#lightbox")
    expect(lightbox).to_be_visible()
    expect(lightbox).to_have_attribute("aria-label", t(lang, "lightbox.label", name="粘贴.png"))
    expect(doctor.locator("#lightbox-close")).to_be_focused()
    doctor.wait_for_function(
        "() => document.querySelector('#lightbox-image')?.naturalWidth === 640"
    )
    picture = doctor.locator("#lightbox-image").bounding_box()
    viewport = doctor.viewport_size
    assert picture and viewport
    assert picture["x"] >= 0 and picture["x"] + picture["width"] <= viewport["width"] + 0.5
    assert picture["y"] >= 0 and picture["y"] + picture["height"] <= viewport["height"] + 0.5
    people.shot(doctor, f"lightbox-{lang}-{layout}")
    doctor.keyboard.press("Escape")
    expect(lightbox).to_have_count(0)
    expect(thumb).to_be_focused()
    thumb.click()
    expect(lightbox).to_be_visible()
    doctor.locator("#lightbox-close").click()
    expect(lightbox).to_have_count(0)
    expect(thumb).to_be_focused()
    expect(doctor.locator("#lightbox-download")).to_have_count(0)
