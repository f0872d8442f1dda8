"""The web client (SPEC §8) in headless Chromium against real `python -m app` processes.

Each server is a subprocess on a free loopback port with its own SQLite file, stopped only
through its own Popen handle. Every wait is bounded (Playwright timeouts ≤ 15 s).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "docs" / "screenshot.png"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 10_000
RECONNECT_MS = 15_000
NO_AI_REPLY_WAIT_MS = 3_000  # the mock answers in ~0.2 s: silence this long means no reply

# Records whether an AI reply was ever shown streaming (the final message replaces it quickly).
WATCH_STREAMS = """() => {
  window.__sawStream = false;
  window.__sawDelta = false;
  if (window.__watching) return;
  window.__watching = true;
  new MutationObserver(() => {
    if (document.querySelector("#message-list .msg.stream")) window.__sawStream = true;
    if (document.querySelector("#message-list .msg.stream .bubble")) window.__sawDelta = true;
  }).observe(document.getElementById("message-list"), { childList: true, subtree: true });
}"""


# ------------------------------------------------------------------------------------------
# A real server process
# ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`python -m app` on 127.0.0.1:<free port>; restartable on the same port and database."""

    def __init__(self, workdir: Path, **settings: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.port = free_port()
        self.log_path = workdir / "server.log"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'im.db'}",
            "BROKER_URL": "memory://",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "AI_ENABLED": "true",
            "AI_PROVIDER": "mock",
            "RATE_LIMIT_MESSAGES_PER_MINUTE": "0",
            "LOG_FORMAT": "console",
            **settings,
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "alembic", "upgrade", "head"],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app"],
                cwd=self.workdir,  # no stray .env from the checkout
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited at start-up:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not healthy within 20 s:\n{self.log_tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def running_server(workdir: Path, **settings: str) -> Iterator[Server]:
    server = Server(workdir, **settings)
    server.migrate()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        # Shown by pytest only when a test failed (captured teardown output).
        sys.stdout.write(f"\n----- server log ({server.log_path}) -----\n{server.log_tail()}\n")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A server of this test alone (the scenario restarts it)."""
    yield from running_server(tmp_path / "server")


@pytest.fixture(scope="module")
def failing_ai_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose AI service refuses connections: every AI call ends FAILED at once."""
    yield from running_server(
        tmp_path_factory.mktemp("failing-ai"),
        AI_PROVIDER="http",
        AI_SERVICE_URL=f"http://127.0.0.1:{free_port()}/reply",
        AI_MAX_RETRIES="0",
        AI_SERVICE_TIMEOUT="3",
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: `make test` installs Debian's chromium as root")
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Any]:
    """Open pages in fresh browser contexts (separate localStorage: separate people); any
    uncaught JavaScript error in them fails the test."""
    contexts = []
    js_errors: list[str] = []

    def _open(url: str) -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: js_errors.append(str(error)))
        page.goto(url)
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not js_errors, f"uncaught errors in the page: {js_errors}"


# ------------------------------------------------------------------------------------------
# Helpers: what a person does in the page, and the REST API for set-up
# ------------------------------------------------------------------------------------------


def sign_up(page: Page, name: str, role: str) -> str:
    page.get_by_label("Your name").fill(name)
    page.get_by_label(role, exact=True).check()
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    expect(page.locator("#me-name")).to_have_text(name)
    return page.locator("#me-id").inner_text()


def send(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def token_of(page: Page) -> str:
    session = json.loads(page.evaluate("localStorage.getItem('im.session')"))
    return str(session["token"])


def bubble(page: Page, text: str) -> Any:
    return page.locator("#message-list .msg:not(.pending) .bubble", has_text=text)


def ai_replies(page: Page) -> Any:
    return page.locator("#message-list .msg.ai:not(.stream)")


def api(server: Server, method: str, path: str, token: str, body: Any = None) -> Any:
    response = httpx.request(
        method,
        f"{server.url}/api{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def wait_until(
    condition: Callable[[], bool], failure: str, timeout: float = WAIT_MS / 1000
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.1)


def create_user(server: Server, name: str, role: str) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/api/user/create", json={"username": name, "user_role": role}, timeout=10
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def signed_in_page(open_page: Any, server: Server, user: dict[str, Any]) -> Page:
    """A page whose localStorage already holds the session, as after an earlier visit."""
    page: Page = open_page(f"{server.url}/health")
    session = {"token": user["access_token"], "user": {"user_id": user["user_id"]}}
    session["user"].update({k: user[k] for k in ("username", "user_role")})
    page.evaluate("s => localStorage.setItem('im.session', s)", json.dumps(session))
    page.goto(f"{server.url}/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    return page


# ------------------------------------------------------------------------------------------
# Tests
# ------------------------------------------------------------------------------------------


def test_doctor_and_patient_consultation(server: Server, open_page: Any) -> None:
    doctor = open_page(f"{server.url}/")
    patient = open_page(f"{server.url}/")
    sign_up(doctor, "Dr. Grey", "Doctor")
    patient_id = sign_up(patient, "Pat Smith", "Patient")
    expect(patient.locator("#me-role")).to_have_text("Patient")

    # The doctor creates a group and adds the patient by user ID.
    doctor.get_by_text("New group").click()
    doctor.get_by_label("Name", exact=True).fill("Knee consultation")
    doctor.get_by_label("Description").fill("Follow-up after the MRI")
    doctor.get_by_role("button", name="Create group").click()
    expect(doctor.locator("#convo-title")).to_have_text("Knee consultation")
    doctor.get_by_label("Add a member by user ID").fill(patient_id)
    doctor.get_by_role("button", name="Add member").click()
    expect(doctor.locator("#toasts")).to_contain_text("Pat Smith was added to the group")
    expect(doctor.locator(f'#member-list li[data-user-id="{patient_id}"]')).to_contain_text(
        "Pat Smith"
    )
    expect(doctor.locator("#message-list .system")).to_contain_text("Dr. Grey added Pat Smith")

    # The group appears live in the patient's list; a doctor's message shows as unread.
    group_item = patient.locator(".group-item", has_text="Knee consultation")
    expect(group_item).to_be_visible()
    send(doctor, "Hello Pat, how is the knee today?")
    expect(group_item.locator(".unread")).to_have_text("1")
    expect(group_item).to_contain_text("Dr. Grey: Hello Pat")
    group_item.click()
    expect(bubble(patient, "how is the knee today?")).to_be_visible()
    expect(group_item.locator(".unread")).to_have_count(0)
    doctor_msg = patient.locator("#message-list .msg", has_text="how is the knee today?")
    expect(doctor_msg.locator(".badge")).to_have_text("Doctor")
    expect(patient.locator(f'#member-list li[data-user-id="{patient_id}"]')).to_have_attribute(
        "data-online", "true"
    )

    # Typing shows on the other side; the patient's message arrives live with its AI reply,
    # which streams in first.
    patient.evaluate(WATCH_STREAMS)
    patient.get_by_role("textbox", name="Message").press_sequentially("It hurts")
    expect(doctor.locator("#typing")).to_have_text("Pat Smith is typing…")
    patient.get_by_role("textbox", name="Message").fill("It hurts when I climb stairs.")
    patient.get_by_role("textbox", name="Message").press("Enter")
    expect(bubble(doctor, "It hurts when I climb stairs.")).to_be_visible()
    expect(ai_replies(patient)).to_have_count(1)
    expect(ai_replies(patient).first).to_contain_text("[Demo AI reply]")
    expect(ai_replies(patient).first.locator(".badge")).to_have_text("AI")
    expect(ai_replies(doctor)).to_have_count(1)
    expect(patient.locator("#message-list .msg.stream")).to_have_count(0)
    assert patient.evaluate("window.__sawStream"), "no 'AI is replying…' state was shown"
    assert patient.evaluate("window.__sawDelta"), "the AI reply did not stream in"
    expect(doctor.locator("#typing")).to_have_text("")

    send(doctor, "Thanks. Any swelling?")
    expect(bubble(patient, "Any swelling?")).to_be_visible()

    # Hand-over: the doctor switches the AI off; the patient sees it and gets no AI reply.
    doctor.get_by_role("switch", name="AI assistant").uncheck()
    expect(doctor.locator("#toasts")).to_contain_text("The AI assistant is off")
    expect(patient.locator("#ai-badge")).to_have_text("AI assistant off")
    patient.evaluate(WATCH_STREAMS)
    send(patient, "A little swelling in the evening.")
    expect(bubble(doctor, "A little swelling in the evening.")).to_be_visible()
    patient.wait_for_timeout(NO_AI_REPLY_WAIT_MS)
    expect(ai_replies(patient)).to_have_count(1)
    assert not patient.evaluate("window.__sawStream"), "the AI replied although switched off"

    # The doctor reads the group's AI records: one call, its status and duration.
    doctor.get_by_role("button", name="AI records").click()
    rows = doctor.locator("#ai-records-body tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".status")).to_have_text("SUCCESS")
    expect(rows.first.locator("td").nth(2)).to_have_text(re.compile(r"^\d+(\.\d)? m?s$"))
    doctor.get_by_role("button", name="Close").click()

    # The server restarts. The patient's reconnects are held back until the doctor's REST
    # message is stored, so it can only reach the page through `sync` after the reconnect.
    held = {"on": True}

    def hold_reconnects(ws: WebSocketRoute) -> None:
        if held["on"]:
            ws.close(code=1012, reason="test: server unreachable")
        else:
            ws.connect_to_server()

    patient.route_web_socket(re.compile(r"/ws/"), hold_reconnects)
    server.stop()
    expect(patient.locator("#conn")).to_have_attribute("data-state", "reconnecting")
    expect(patient.locator("#conn-text")).to_contain_text("Reconnecting")
    expect(doctor.locator("#conn")).not_to_have_attribute("data-state", "connected")
    send(patient, "Sent while offline.")
    pending = patient.locator("#message-list .msg.pending")
    expect(pending).to_contain_text("Waiting for the connection")

    server.start()
    group_id = api(server, "GET", "/group/list", token_of(doctor))[0]["group_id"]
    api(
        server,
        "POST",
        "/message/send",
        token_of(doctor),
        {"group_id": group_id, "content": "Sent while you were away."},
    )
    expect(doctor.locator("#conn")).to_have_attribute(
        "data-state", "connected", timeout=RECONNECT_MS
    )
    expect(bubble(doctor, "Sent while you were away.")).to_be_visible()
    assert patient.locator("#conn").get_attribute("data-state") != "connected"
    held["on"] = False
    expect(patient.locator("#conn")).to_have_attribute(
        "data-state", "connected", timeout=RECONNECT_MS
    )
    expect(patient.locator("#conn-text")).to_have_text("Connected")
    expect(bubble(patient, "Sent while you were away.")).to_be_visible()

    # The queued message went out once on reconnect (client_msg_id: no duplicate).
    expect(pending).to_have_count(0)
    expect(bubble(patient, "Sent while offline.")).to_have_count(1)
    expect(bubble(doctor, "Sent while offline.")).to_have_count(1)
    send(doctor, "Good. Keep the knee elevated tonight.")
    expect(bubble(patient, "Keep the knee elevated tonight.")).to_be_visible()
    messages = api(server, "GET", f"/message/list?group_id={group_id}", token_of(doctor))
    assert [m["msg_content"] for m in messages["messages"]].count("Sent while offline.") == 1

    SCREENSHOT.parent.mkdir(exist_ok=True)
    doctor.screenshot(path=str(SCREENSHOT))

    # The patient leaves: the doctor's member list shows them offline.
    patient.context.close()
    expect(doctor.locator(f'#member-list li[data-user-id="{patient_id}"]')).to_have_attribute(
        "data-online", "false"
    )


def test_api_errors_are_shown_in_words(failing_ai_server: Server, open_page: Any) -> None:
    doctor = open_page(f"{failing_ai_server.url}/")
    sign_up(doctor, "Dr. House", "Doctor")
    doctor.get_by_text("New group").click()
    doctor.get_by_label("Name", exact=True).fill("Errors")
    doctor.get_by_role("button", name="Create group").click()
    expect(doctor.locator("#convo-title")).to_have_text("Errors")

    doctor.get_by_label("Add a member by user ID").fill("user_nobody")
    doctor.get_by_role("button", name="Add member").click()
    alert = doctor.get_by_role("alert").filter(has_text="Could not add the member")
    expect(alert).to_have_text(re.compile(r"Could not add the member: User user_nobody not found"))
    expect(alert).not_to_contain_text("Traceback")

    # A stored token the server no longer accepts signs the page out, saying why.
    stale = open_page(f"{failing_ai_server.url}/health")
    session = {"token": "not-a-valid-token", "user": {"user_id": "user_gone", "username": "Gone"}}
    stale.evaluate("s => localStorage.setItem('im.session', s)", json.dumps(session))
    stale.goto(f"{failing_ai_server.url}/")
    expect(stale.get_by_role("alert")).to_contain_text("Please sign up again")
    expect(stale.get_by_role("button", name="Sign up")).to_be_visible()
    expect(stale.get_by_role("alert")).to_have_count(1)  # said once, not once per request

    # Sign-out forgets the account in this browser.
    doctor.once("dialog", lambda dialog: dialog.accept())
    doctor.get_by_role("button", name="Sign out").click()
    expect(doctor.get_by_role("button", name="Sign up")).to_be_visible()
    assert doctor.evaluate("localStorage.getItem('im.session')") is None


def test_ai_failure_is_visible(failing_ai_server: Server, open_page: Any) -> None:
    server = failing_ai_server
    doc = create_user(server, "Dr. Quinn", "DOCTOR")
    pat = create_user(server, "Sam Lee", "PATIENT")
    group = api(server, "POST", "/group/create", doc["access_token"], {"group_name": "Fever"})
    body = {"user_id": pat["user_id"]}
    api(server, "POST", f"/group/{group['group_id']}/members", doc["access_token"], body)
    patient = signed_in_page(open_page, server, pat)
    doctor = signed_in_page(open_page, server, doc)
    patient.locator(".group-item", has_text="Fever").click()
    doctor.locator(".group-item", has_text="Fever").click()

    send(patient, "I have had a fever for three days.")
    failure = patient.locator("#message-list .msg.stream.failed")
    expect(failure).to_contain_text("The AI assistant could not answer this message")
    expect(failure.locator(".ai-error")).to_have_count(0)  # the technical reason: doctors only
    doctor_view = doctor.locator("#message-list .msg.stream.failed")
    expect(doctor_view.locator(".ai-error")).to_contain_text("Reason: AI service unreachable")

    doctor.get_by_role("button", name="AI records").click()
    row = doctor.locator("#ai-records-body tr").first
    expect(row.locator(".status")).to_have_text("FAILED")
    expect(row.locator(".error-cell")).not_to_have_text("—")
    expect(doctor.locator("#ai-records-summary")).to_have_text("1 interaction(s).")


def test_history_loads_on_scroll_and_reads_persist(
    failing_ai_server: Server, open_page: Any
) -> None:
    server = failing_ai_server
    doc = create_user(server, "Dr. Who", "DOCTOR")
    pat = create_user(server, "Kim Park", "PATIENT")
    group = api(server, "POST", "/group/create", doc["access_token"], {"group_name": "History"})
    group_id = group["group_id"]
    api(
        server,
        "POST",
        f"/group/{group_id}/members",
        doc["access_token"],
        {"user_id": pat["user_id"]},
    )
    for n in range(1, 121):
        body = {"group_id": group_id, "content": f"Note {n:03d}"}
        api(server, "POST", "/message/send", doc["access_token"], body)

    patient = signed_in_page(open_page, server, pat)
    item = patient.locator(".group-item", has_text="History")
    expect(item.locator(".unread")).to_have_text("99+")
    item.click()
    expect(bubble(patient, "Note 120")).to_be_visible()
    expect(patient.locator("#message-list .divider")).to_have_text("New messages")
    expect(patient.locator("#message-list .msg")).to_have_count(50)
    expect(patient.locator("#load-older")).to_be_visible()

    # Scrolling to the top loads older pages until the first message (the join notice).
    system = patient.locator("#message-list .system", has_text="Dr. Who added Kim Park")
    for _ in range(5):
        if system.count():
            break
        count = patient.locator("#message-list li").count()
        patient.locator("#messages").evaluate("box => box.scrollTo(0, 0)")
        expect(patient.locator("#message-list li")).not_to_have_count(count)
    expect(system).to_be_visible()
    expect(patient.locator("#message-list .msg")).to_have_count(120)
    expect(patient.locator("#load-older")).to_be_hidden()

    # Reading was sent to the server: after a reload nothing is unread.
    expect(item.locator(".unread")).to_have_count(0)

    def unread() -> int:
        groups = api(server, "GET", "/group/list", pat["access_token"])
        return int(next(g for g in groups if g["group_id"] == group_id)["unread_count"])

    wait_until(lambda: unread() == 0, "the server still counts unread messages")
    # The session and the last open conversation survive a reload.
    patient.reload()
    expect(patient.locator("#conn")).to_have_attribute("data-state", "connected")
    expect(patient.locator("#convo-title")).to_have_text("History")
    expect(bubble(patient, "Note 120")).to_be_visible()
