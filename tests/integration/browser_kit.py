"""What the browser tests share: real `python -m app` servers, Chromium with each page's console
watched, the client's own words (its catalogs, read through node), and what a person does in
the page (sign up, send, open a pane). Fixtures are imported by the test modules by name.

Each server is a subprocess on a free loopback port with its own SQLite file, stopped only
through its own Popen handle. Every wait is bounded (Playwright timeouts ≤ 15 s). Screenshots
of each state are kept under test-artifacts/browser/.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    Page,
    ViewportSize,
    WebSocketRoute,
    expect,
    sync_playwright,
)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "browser"
DOCS = ROOT / "docs"
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
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
LAYOUTS = {"desktop": DESKTOP, "phone": PHONE}
# Both languages, both layouts.
MATRIX = [
    pytest.param("en", "desktop", id="en-desktop"),
    pytest.param("zh-CN", "phone", id="zh-phone"),
    pytest.param("en", "phone", id="en-phone"),
    pytest.param("zh-CN", "desktop", id="zh-desktop"),
]
NETWORK_ERROR = re.compile(r"net::ERR_|Failed to load resource")
REDOC_LOGO = re.compile(
    r"^Loading the image 'https://cdn\.redoc\.ly/redoc/logo-mini\.svg' violates"
)

# Records whether an AI reply was ever shown streaming (the final message replaces it quickly).
WATCH_STREAMS = """() => {
  window.__sawStream = false;
  window.__sawDelta = false;
  if (window.__watching) return;
  window.__watching = true;
  new MutationObserver(() => {
    if (document.querySelector("#message-list .msg.stream")) window.__sawStream = true;
    if (document.querySelector("#message-list .msg.stream .bubble")) window.__sawDelta = true;
  }).observe(document.getElementById("app"), { childList: true, subtree: true });
}"""


# ------------------------------------------------------------------------------------------
# The client's own words
# ------------------------------------------------------------------------------------------


def _load_catalogs() -> dict[str, dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed to read the web client's catalogs")
    script = (
        "const [en, zh] = await Promise.all(['en', 'zh-CN'].map("
        "(l) => import(`./app/static/i18n/${l}.js`)));"
        "console.log(JSON.stringify({en: en.default, 'zh-CN': zh.default}));"
    )
    out = subprocess.run(
        [node, "--input-type=module", "-e", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    catalogs: dict[str, dict[str, Any]] = json.loads(out.stdout)
    return catalogs


CATALOGS = _load_catalogs()


def t(lang: str, key: str, **params: Any) -> str:
    entry = CATALOGS[lang][key]
    if isinstance(entry, dict):
        entry = entry["one"] if params.get("count") == 1 and "one" in entry else entry["other"]
    return re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), m.group(0))), entry)


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
            "DOCTOR_SIGNUP": "open",
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


def failing_ai_settings() -> dict[str, str]:
    """A server whose AI service refuses connections: every AI call ends FAILED at once."""
    return {
        "AI_PROVIDER": "http",
        "AI_SERVICE_URL": f"http://127.0.0.1:{free_port()}/reply",
        "AI_MAX_RETRIES": "0",
        "AI_SERVICE_TIMEOUT": "3",
    }


def launch_browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (a module fixture in each test module)."""
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


# ------------------------------------------------------------------------------------------
# Pages: one person each, with their console watched
# ------------------------------------------------------------------------------------------


@dataclass
class Watch:
    """What a page said on its console. Network failures are allowed only while `outage`
    (or when a test expects an HTTP error answer); a token in any line is always a failure."""

    lang: str
    phone: bool
    allow_http_errors: bool = False
    outage: bool = False
    allow: tuple[re.Pattern[str], ...] = ()
    errors: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    def console(self, kind: str, text: str) -> None:
        if "token=" in text:
            self.tokens.append(text)
        if kind != "error":
            return
        if NETWORK_ERROR.search(text) and (self.outage or self.allow_http_errors):
            return
        if any(pattern.search(text) for pattern in self.allow):
            return
        self.errors.append(text)


class People:
    """Opens pages in fresh browser contexts (separate storage: separate people)."""

    def __init__(self, browser: Browser, artifacts: Path) -> None:
        self.browser = browser
        self.artifacts = artifacts
        self.contexts: list[Any] = []
        self.watches: dict[Page, Watch] = {}
        self.shots = 0

    def open(
        self,
        url: str,
        *,
        lang: str = "en",
        layout: str = "desktop",
        allow: tuple[re.Pattern[str], ...] = (),
        init_script: str | None = None,
        **context_args: Any,
    ) -> Page:
        context = self.browser.new_context(viewport=LAYOUTS[layout], locale=lang, **context_args)
        context.set_default_timeout(WAIT_MS)
        if init_script:
            context.add_init_script(init_script)
        self.contexts.append(context)
        page = context.new_page()
        watch = Watch(lang, layout == "phone", allow=allow)
        self.watches[page] = watch
        page.on("console", lambda message: watch.console(message.type, message.text))
        page.on("pageerror", lambda error: watch.errors.append(f"uncaught: {error}"))
        page.goto(url)
        return page

    def watch(self, page: Page) -> Watch:
        return self.watches[page]

    def shot(self, page: Page, name: str) -> Path:
        self.shots += 1
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{self.shots:02d}-{name}.png"
        page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        problems = {
            f"{w.lang}{'/phone' if w.phone else ''}": (w.errors, w.tokens)
            for w in self.watches.values()
            if w.errors or w.tokens
        }
        assert not problems, f"console errors / tokens in the console: {problems}"


def crowd_for(browser: Browser, request: pytest.FixtureRequest) -> Iterator[People]:
    """The people of one test (a fixture in each test module); their screenshots in a folder
    named after the test."""
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    crowd = People(browser, ARTIFACTS / name)
    shutil.rmtree(crowd.artifacts, ignore_errors=True)
    yield crowd
    crowd.close()


# ------------------------------------------------------------------------------------------
# Helpers: what a person does in the page, and the REST API for set-up
# ------------------------------------------------------------------------------------------


def lang_of(people: People, page: Page) -> str:
    return people.watch(page).lang


def phone(people: People, page: Page) -> bool:
    return people.watch(page).phone


PASSWORD = "a long secret 1"


def login_for(name: str) -> str:
    """A login made from a name, unique per call (lower-case, as the server keeps it)."""
    stem = re.sub(r"[^a-z0-9]+", "", name.lower())[:16] or "user"
    return f"{stem}{secrets.token_hex(3)}"


def sign_up(page: Page, lang: str, name: str, role: str | None, login: str | None = None) -> str:
    """Sign up on the welcome page (role None: the invite decides it); returns the user id."""
    page.locator("#tab-signup").click()
    page.get_by_label(t(lang, "signup.name")).fill(name)
    page.get_by_label(t(lang, "account.login"), exact=True).fill(login or login_for(name))
    page.get_by_label(t(lang, "account.password"), exact=True).fill(PASSWORD)
    if role is not None:
        page.get_by_label(t(lang, f"role.{role}"), exact=True).check()
    page.locator("#signup-form").get_by_role("button", name=t(lang, "signup.submit")).click()
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    expect(page.locator("#me-name")).to_have_text(name)
    return str(page.locator("#me-id").text_content())


def sign_in(page: Page, lang: str, login: str, password: str = PASSWORD) -> None:
    page.locator("#tab-signin").click()
    page.get_by_label(t(lang, "account.login"), exact=True).fill(login)
    page.get_by_label(t(lang, "account.password"), exact=True).fill(password)
    page.locator("#signin-form").get_by_role("button", name=t(lang, "signin.submit")).click()


def send(page: Page, text: str) -> None:
    box = page.locator("#composer-input")
    box.fill(text)
    box.press("Enter")


def open_details(people: People, page: Page) -> None:
    if phone(people, page):
        page.locator("#show-details").click()
    expect(page.locator("#details")).to_be_visible()


def close_details(people: People, page: Page) -> None:
    if phone(people, page):
        page.locator("#details .back").click()
        expect(page.locator("#composer-input")).to_be_visible()


def open_group(page: Page, name: str) -> None:
    page.locator(".group-item", has_text=name).click()
    expect(page.locator("#convo-title")).to_have_text(name)


def session_of(page: Page) -> dict[str, Any]:
    """The session this page keeps in localStorage ({} when signed out)."""
    raw = page.evaluate("localStorage.getItem('im.session')")
    return dict(json.loads(raw)) if raw else {}


def token_of(page: Page) -> str:
    return str(session_of(page)["access_token"])


def bubble(page: Page, text: str) -> Any:
    return page.locator("#message-list .msg:not(.pending):not(.ai) .bubble", has_text=text)


def ai_replies(page: Page) -> Any:
    return page.locator("#message-list .msg.ai:not(.stream):not(.ai-failed)")


def assert_fits(people: People, page: Page) -> None:
    """No horizontal overflow on a phone, and no page-level scrolling (only panes scroll)."""
    sizes = page.evaluate(
        "() => [document.documentElement.scrollWidth, innerWidth,"
        " document.documentElement.scrollHeight, innerHeight, document.body.scrollHeight]"
    )
    width, inner_width, height, inner_height, body_height = sizes
    assert width <= inner_width, f"horizontal overflow: {width} > {inner_width}"
    assert height <= inner_height and body_height <= inner_height, f"page scrolls: {sizes}"
    if phone(people, page):
        assert inner_width == PHONE["width"]


def assert_clear_of_send(page: Page) -> None:
    """A toast never covers the Send button."""
    toast = page.locator("#toasts .toast").first.bounding_box()
    button = page.locator("#composer button[type=submit]").bounding_box()
    assert toast and button
    overlap_x = (
        toast["x"] < button["x"] + button["width"] and button["x"] < toast["x"] + toast["width"]
    )
    overlap_y = (
        toast["y"] < button["y"] + button["height"] and button["y"] < toast["y"] + toast["height"]
    )
    assert not (overlap_x and overlap_y), f"toast {toast} covers Send {button}"


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


def signed_in_page(
    people: People, server: Server, user: dict[str, Any], lang: str = "en", layout: str = "desktop"
) -> Page:
    """A page whose localStorage already holds the session, as after an earlier visit."""
    page = remembered_page(people, server, user, lang=lang, layout=layout)
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    return page


def remembered_page(
    people: People, server: Server, user: dict[str, Any], extra_script: str = "", **open_args: Any
) -> Page:
    """Open `/` with the session already stored (seeded once per tab, before the app runs)."""
    session = {
        "access_token": user["access_token"],
        "refresh_token": user["refresh_token"],
        "user": {k: user[k] for k in ("user_id", "username", "user_role")},
    }
    seed = (
        "(() => { if (sessionStorage.getItem('seeded')) return;"
        f" const s = {json.dumps(session)}; const now = Date.now();"
        f" const life = {int(user['expires_in'])} * 1000;"
        " Object.assign(s, {issued_at: now, expires_at: now + life});"
        " localStorage.setItem('im.session', JSON.stringify(s));"
        " sessionStorage.setItem('seeded', '1'); })()"
    )
    return people.open(f"{server.url}/", init_script=f"{seed};\n{extra_script}", **open_args)


def consultation_group(
    server: Server, doctor: dict[str, Any], patient: dict[str, Any], name: str
) -> str:
    group = api(server, "POST", "/group/create", doctor["access_token"], {"group_name": name})
    body = {"user_id": patient["user_id"]}
    api(server, "POST", f"/group/{group['group_id']}/members", doctor["access_token"], body)
    return str(group["group_id"])


class SocketControl:
    """Routes a page's WebSocket: `held` refuses connections (the server looks down to this
    page only); `fail` answers a send of that text with a server error instead of passing it."""

    def __init__(self, page: Page) -> None:
        self.held = False
        self.fail: str | None = None
        page.route_web_socket(re.compile(r"/ws/"), self.route)

    def route(self, ws: WebSocketRoute) -> None:
        if self.held:
            ws.close(code=1012, reason="test: server unreachable")
            return
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            event = json.loads(message)
            if event.get("type") == "send_message" and event.get("content") == self.fail:
                reply = {
                    "type": "error",
                    "code": "INTERNAL_ERROR",
                    "message": "Internal server error",
                    "client_msg_id": event.get("client_msg_id"),
                }
                ws.send(json.dumps(reply))
            else:
                server.send(message)

        ws.on_message(from_page)
