"""Accounts, invites and rich messages (SPEC §10, §11, §16) in headless Chromium, against a real
server with doctor sign-up by invite (the default): a doctor signs up through the bootstrap
invite (or one made with the service key), creates a group and an invite link with its QR code;
a patient opens the link in another browser, signs up and joins; they reply, mention, edit and
recall, each visible on both sides; the access token runs out (a token past its expiry is put in
the page, no waiting) and the session goes on through refresh, also when the socket is refused
with 4401; a session ended from another device goes back to sign-in; sign out, sign in again
elsewhere. Both languages, both layouts (the doctor and the patient on different ones).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from playwright.sync_api import Browser, Locator, Page, WebSocketRoute, expect

from tests.integration.browser_kit import (
    DOCS,
    PASSWORD,
    People,
    Server,
    api,
    assert_fits,
    bubble,
    close_details,
    crowd_for,
    launch_browser,
    login_for,
    open_details,
    remembered_page,
    running_server,
    send,
    session_of,
    sign_in,
    sign_up,
    t,
)

SERVICE_KEY = "browser-test-service-key-0123456789"
BOOTSTRAP = re.compile(r"the first doctor signs up at (http://\S+/#invite=[\w-]+)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch_browser()


@pytest.fixture
def people(browser: Browser, request: pytest.FixtureRequest) -> Iterator[People]:
    yield from crowd_for(browser, request)


@pytest.fixture(scope="module")
def invite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Doctors sign up by invite only (the default); a service key for the set-up."""
    yield from running_server(
        tmp_path_factory.mktemp("invite"),
        DOCTOR_SIGNUP="invite",
        SERVICE_API_KEY=SERVICE_KEY,
    )


# ------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------


def doctor_invite_url(server: Server) -> str:
    """The bootstrap doctor-invite URL the server logged, while it is usable; after the first
    doctor, a doctor invite made with the service key."""
    found = BOOTSTRAP.search(server.log_path.read_text(errors="replace"))
    assert found, "the server logged no bootstrap doctor invite"
    code = found.group(1).rsplit("=", 1)[1]
    if httpx.get(f"{server.url}/api/invites/{code}", timeout=10).status_code == 200:
        assert found.group(1).startswith(server.url)
        return found.group(1)
    response = httpx.post(
        f"{server.url}/api/invites",
        json={"kind": "doctor"},
        headers={"X-API-Key": SERVICE_KEY},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return f"{server.url}{response.json()['url']}"


def account(server: Server, name: str, role: str = "PATIENT") -> dict[str, Any]:
    """A person with a login and a password, made through the API (the service key lets it
    make doctors too)."""
    login = login_for(name)
    body = {"username": name, "user_role": role, "login": login, "password": PASSWORD}
    response = httpx.post(
        f"{server.url}/api/user/create",
        json=body,
        headers={"X-API-Key": SERVICE_KEY},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return {**response.json(), "login": login}


def expired_copy(server: Server, access_token: str) -> str:
    """The same session's access token, expired a minute ago (signed with the server's key):
    time moves on without the test waiting for it."""
    claims = jwt.decode(access_token, options={"verify_signature": False})
    now = int(time.time())
    claims.update(iat=now - 120, exp=now - 60)
    return jwt.encode(claims, server.env["SECRET_KEY"], algorithm="HS256")


def store_session(page: Page, session: dict[str, Any]) -> None:
    page.evaluate("s => localStorage.setItem('im.session', JSON.stringify(s))", session)


def refresh_refused(server: Server, refresh_token: str) -> bool:
    response = httpx.post(
        f"{server.url}/api/auth/refresh", json={"refresh_token": refresh_token}, timeout=10
    )
    return response.status_code == 401


def message_row(page: Page, text: str) -> Locator:
    """A stored message by its own words (not a quote of it, not the AI's echo of it)."""
    words = page.locator(".msg-text", has_text=text)
    return page.locator("#message-list .msg:not(.pending):not(.ai)", has=words)


def act(page: Page, text: str, action: str) -> None:
    """Open a message's actions menu and choose one (reply, edit, recall)."""
    row = message_row(page, text)
    row.locator(".msg-more").click()
    row.locator(f".act-{action}").click()


def connected(page: Page) -> None:
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")


# ------------------------------------------------------------------------------------------
# The whole account and message flow
# ------------------------------------------------------------------------------------------

WORDS = {
    "en": {
        "doctor": "Dr. Grey",
        "patient": "Pat Smith",
        "pick": "Pat",
        "group": "Knee",
        "question": "My knee hurts since Monday.",
        "answer": "rest it today.",
        "edited": "rest it and use ice today.",
        "oops": "Wrong chat, sorry!",
        "after_refresh": "Still here after the refresh.",
        "after_4401": "And after the socket was refused.",
    },
    "zh-CN": {
        "doctor": "王医生",
        "patient": "张三",
        "pick": "张",
        "group": "膝关节复诊",
        "question": "从周一开始膝盖疼。",
        "answer": "今天先休息。",
        "edited": "今天先休息，再冰敷。",  # noqa: RUF001 (Chinese punctuation)
        "oops": "发错群了，抱歉！",  # noqa: RUF001
        "after_refresh": "刷新之后我还在。",
        "after_4401": "连接被拒之后也在。",
    },
}

FLOWS = [
    pytest.param("en", "desktop", "phone", id="en-doctor-desktop-patient-phone"),
    pytest.param("zh-CN", "phone", "desktop", id="zh-doctor-phone-patient-desktop"),
]


@pytest.mark.parametrize(("lang", "doctor_layout", "patient_layout"), FLOWS)
def test_invites_rich_messages_and_sessions(
    invite_server: Server, people: People, lang: str, doctor_layout: str, patient_layout: str
) -> None:
    server = invite_server
    tag = f"{lang}-{doctor_layout}"
    w = WORDS[lang]

    # A doctor signs up through a doctor invite: the role is the invite's, no choice shown.
    doctor = people.open(doctor_invite_url(server), lang=lang, layout=doctor_layout)
    expect(doctor.locator("#invite-text")).to_have_text(t(lang, "invite.doctor"))
    expect(doctor.locator("#signup-form h2")).to_have_text(t(lang, "signup.title_doctor"))
    expect(doctor.locator("#signup-form input[name=role]")).to_have_count(0)
    assert_fits(people, doctor)
    people.shot(doctor, "doctor-invite-signup")
    sign_up(doctor, lang, w["doctor"], None)
    expect(doctor.locator("#me-role")).to_have_text(t(lang, "role.DOCTOR"))
    expect(doctor).not_to_have_url(re.compile("invite="))  # a used code leaves the address bar

    # The doctor creates a group and an invite link with its QR code.
    group_name = f"{w['group']} {tag}"
    doctor.locator("#create-group summary").click()
    doctor.get_by_label(t(lang, "group.name"), exact=True).fill(group_name)
    doctor.get_by_role("button", name=t(lang, "group.create")).click()
    expect(doctor.locator("#convo-title")).to_have_text(group_name)
    open_details(people, doctor)
    doctor.locator("#invite-create summary").click()
    doctor.get_by_role("button", name=t(lang, "invites.create")).click()
    invite_row = doctor.locator("#invite-list li").first
    expect(invite_row).to_contain_text(
        t(lang, "invites.summary", role=t(lang, "role.PATIENT"), uses=0, max=1)
    )
    qr = invite_row.locator("svg.qr")
    expect(qr).to_be_visible()
    link = invite_row.locator(".invite-url").input_value()
    assert re.fullmatch(re.escape(server.url) + r"/#invite=[\w-]{24}", link), link
    assert qr.get_attribute("data-qr-text") == link
    qr_box = qr.bounding_box()
    assert qr_box is not None and qr_box["width"] >= 120
    assert_fits(people, doctor)
    qr.scroll_into_view_if_needed()
    people.shot(doctor, "doctor-invite-link-qr")
    close_details(people, doctor)

    # A patient opens the link in another browser: the preview, then sign up and join.
    patient = people.open(link, lang=lang, layout=patient_layout)
    expect(patient.locator("#invite-text")).to_have_text(
        t(
            lang,
            "invite.group_from",
            inviter=w["doctor"],
            group=group_name,
            role=t(lang, "role.PATIENT"),
        )
    )
    assert_fits(people, patient)
    people.shot(patient, "patient-invite-preview")
    patient_login = login_for(w["patient"])
    patient_id = sign_up(patient, lang, w["patient"], None, login=patient_login)
    expect(patient.locator("#convo-title")).to_have_text(group_name)
    joined = t(lang, "system.joined", name=w["patient"])
    expect(doctor.locator("#message-list .system", has_text=joined)).to_be_visible()

    # Reply with a mention (the picker opens on "@"; the AI assistant is offered too).
    send(patient, w["question"])
    expect(bubble(doctor, w["question"])).to_be_visible()
    act(doctor, w["question"], "reply")
    expect(doctor.locator("#compose-bar")).to_contain_text(
        t(lang, "compose.replying", name=w["patient"])
    )
    box = doctor.locator("#composer-input")
    box.press_sequentially("@A")
    expect(doctor.locator("#mention-picker li").first).to_contain_text("AI Assistant")
    box.press("Backspace")
    box.press_sequentially(w["pick"])
    picker = doctor.locator("#mention-picker")
    expect(picker.locator("li")).to_have_count(1)
    expect(picker.locator(f'li[data-user-id="{patient_id}"]')).to_be_visible()
    people.shot(doctor, "doctor-mention-picker")
    box.press("Enter")
    expect(box).to_have_value(f"@{w['patient']} ")
    box.press_sequentially(w["answer"])
    box.press("Enter")
    answer = message_row(patient, w["answer"])
    expect(answer.locator(".quote")).to_contain_text(w["question"])
    expect(answer.locator(f'.mention.me[data-user-id="{patient_id}"]')).to_have_text(
        f"@{w['patient']}"
    )
    expect(message_row(doctor, w["answer"]).locator(".mention")).to_have_text(f"@{w['patient']}")
    doctor_token = session_of(doctor)["access_token"]
    group_id = next(
        g["group_id"]
        for g in api(server, "GET", "/group/list", doctor_token)
        if g["group_name"] == group_name
    )
    stored = api(server, "GET", f"/message/list?group_id={group_id}", doctor_token)
    sent = next(m for m in stored["messages"] if w["answer"] in m["msg_content"])
    assert sent["mentions"] == [patient_id] and sent["reply_to"]
    # The quote jumps to the message it answers.
    answer.locator(".quote").click()
    expect(message_row(patient, w["question"])).to_have_class(re.compile(r"\bflash\b"))

    # The doctor edits the answer: both sides show the new words and "edited".
    act(doctor, w["answer"], "edit")
    expect(box).to_have_value(f"@{w['patient']} {w['answer']}")
    box.fill(f"@{w['patient']} {w['edited']}")
    box.press("Enter")
    for page in (doctor, patient):
        edited = message_row(page, w["edited"])
        expect(edited.locator(".edited")).to_have_text(t(lang, "msg.edited"))
        expect(message_row(page, w["answer"])).to_have_count(0)

    # The patient recalls a message: a placeholder for everyone, the words gone.
    send(patient, w["oops"])
    expect(bubble(doctor, w["oops"])).to_be_visible()
    patient.once("dialog", lambda dialog: dialog.accept())
    act(patient, w["oops"], "recall")
    expect(patient.locator("#message-list .bubble.recalled")).to_have_text(
        t(lang, "msg.recalled_mine")
    )
    expect(doctor.locator("#message-list .bubble.recalled")).to_have_text(t(lang, "msg.recalled"))
    for page in (doctor, patient):
        # (The mock AI had already answered it, quoting it: its reply stays.)
        expect(message_row(page, w["oops"])).to_have_count(0)
        assert_fits(people, page)
    doctor_shot = people.shot(doctor, "doctor-rich-messages")
    patient_shot = people.shot(patient, "patient-rich-messages")
    if lang == "en":
        shutil.copyfile(doctor_shot, DOCS / "screenshot.png")
        shutil.copyfile(patient_shot, DOCS / "screenshot-phone-en.png")
    else:
        shutil.copyfile(patient_shot, DOCS / "screenshot-zh.png")
        shutil.copyfile(doctor_shot, DOCS / "screenshot-phone.png")

    # The access token runs out: the page holds a spent one and the session goes on through
    # refresh (a 401 TOKEN_EXPIRED, then a rotated pair; the old refresh token is used up).
    before = session_of(patient)
    spent = {**before, "access_token": expired_copy(server, before["access_token"])}
    store_session(patient, spent)
    people.watch(patient).allow_http_errors = True  # the one 401 that says "expired"
    patient.reload()
    connected(patient)
    after = session_of(patient)
    # Rotated (the old refresh token is used up: presenting it again would end the session).
    assert after["refresh_token"] != before["refresh_token"]
    people.watch(patient).allow_http_errors = False
    send(patient, w["after_refresh"])
    expect(bubble(doctor, w["after_refresh"])).to_be_visible()

    # Refreshed before expiry too: a pair about to run out is renewed without any 401.
    store_session(patient, {**after, "expires_at": int(time.time() * 1000) + 2000})
    patient.reload()
    connected(patient)
    renewed = session_of(patient)
    assert renewed["refresh_token"] != after["refresh_token"]

    # The socket is refused with 4401: refresh, then a new socket at once.
    refused: list[WebSocketRoute] = []

    def refuse_first(ws: WebSocketRoute) -> None:
        if not refused:
            refused.append(ws)
            ws.close(code=4401, reason="test: token refused")
            return
        ws.connect_to_server()

    patient.route_web_socket(re.compile(r"/ws/"), refuse_first)
    patient.reload()
    connected(patient)
    assert refused, "the socket was not refused"
    assert session_of(patient)["refresh_token"] != renewed["refresh_token"]
    send(patient, w["after_4401"])
    expect(bubble(doctor, w["after_4401"])).to_be_visible()
    for text in (w["edited"], w["question"]):
        expect(message_row(patient, text)).to_be_visible()

    # The patient signs in on another device and ends the first session there: the first
    # device is back at sign-in, told why.
    second = people.open(f"{server.url}/", lang=lang, layout=patient_layout)
    sign_in(second, lang, patient_login)
    connected(second)
    expect(second.locator(".group-item", has_text=group_name)).to_be_visible()
    people.watch(patient).allow_http_errors = True  # its refresh is refused: the session ended
    second.locator("#account summary").click()
    second.locator("#open-sessions").click()
    rows = second.locator("#session-list li")
    expect(rows).to_have_count(2)
    expect(second.locator('#session-list li[data-current="true"]')).to_contain_text(
        t(lang, "sessions.this_device")
    )
    people.shot(second, "patient-sessions")
    second.locator('#session-list li[data-current="false"] button').click()
    expect(rows).to_have_count(1)
    expect(patient.locator("#signin-form")).to_be_visible(timeout=15_000)
    expect(patient.get_by_role("alert")).to_contain_text(t(lang, "toast.session_expired"))
    assert session_of(patient) == {}
    second.locator("#sessions-dialog-close").click()

    # Sign out (the server ends the session), then sign in again on yet another device.
    last_refresh = session_of(second)["refresh_token"]
    second.locator("#account summary").click()
    second.once("dialog", lambda dialog: dialog.accept())
    second.locator("#signout").click()
    expect(second.locator("#signin-form")).to_be_visible()
    assert session_of(second) == {}
    assert refresh_refused(server, last_refresh)
    third = people.open(f"{server.url}/", lang=lang, layout=patient_layout)
    sign_in(third, lang, patient_login)
    connected(third)
    third.locator(".group-item", has_text=group_name).click()
    expect(message_row(third, w["edited"]).locator(".edited")).to_be_visible()
    expect(third.locator("#message-list .bubble.recalled")).to_have_text(
        t(lang, "msg.recalled_mine")
    )
    assert_fits(people, third)
    people.shot(third, "patient-signed-in-again")


def test_sign_in_profile_password_and_joining_while_signed_in(
    invite_server: Server, people: People
) -> None:
    server, lang = invite_server, "zh-CN"
    doc = account(server, "Dr. Zhou", role="DOCTOR")
    pat = account(server, "Lin Wei")
    group = api(server, "POST", "/group/create", doc["access_token"], {"group_name": "Follow-up"})
    invite = api(server, "POST", f"/group/{group['group_id']}/invites", doc["access_token"], {})

    page = people.open(f"{server.url}/", lang=lang, layout="phone")
    people.watch(page).allow_http_errors = True  # the refused password and the wrong one
    sign_in(page, lang, pat["login"], "not the password")
    expect(page.get_by_role("alert")).to_contain_text(
        t(
            lang,
            "toast.with_reason",
            what=t(lang, "signin.failed"),
            why=t(lang, "error.INVALID_CREDENTIALS"),
        )
    )
    sign_in(page, lang, pat["login"])
    connected(page)
    expect(page.locator("#me-name")).to_have_text("Lin Wei")

    # My name and my password.
    page.locator("#account summary").click()
    page.locator("#open-profile").click()
    page.locator("#profile-name").fill("Lin Wei (Beijing)")
    page.locator("#profile-form button[type=submit]").click()
    expect(page.locator("#me-name")).to_have_text("Lin Wei (Beijing)")
    page.locator("#pw-current").fill("not the password")
    page.locator("#pw-new").fill("a newer secret 2")
    page.locator("#password-form button[type=submit]").click()
    expect(page.get_by_role("alert")).to_contain_text(t(lang, "error.WRONG_PASSWORD"))
    page.locator("#pw-current").fill(PASSWORD)
    page.locator("#pw-new").fill("a newer secret 2")
    page.locator("#password-form button[type=submit]").click()
    expect(page.locator("#toasts")).to_contain_text(t(lang, "password.changed"))
    assert_fits(people, page)
    people.shot(page, "profile-and-password")
    page.locator("#profile-dialog-close").click()

    # An invite link opened while signed in: its preview, then joining at once.
    page.goto(f"{server.url}/#invite={invite['code']}")
    dialog = page.locator("#invite-dialog")
    expect(dialog.locator("#invite-text")).to_have_text(
        t(
            lang,
            "invite.group_from",
            inviter="Dr. Zhou",
            group="Follow-up",
            role=t(lang, "role.PATIENT"),
        )
    )
    people.shot(page, "invite-while-signed-in")
    dialog.locator("#invite-join").click()
    expect(page.locator("#convo-title")).to_have_text("Follow-up")
    expect(page).not_to_have_url(re.compile("invite="))
    page.locator("#back").click()

    # Sign out; the new password signs in.
    page.locator("#account summary").click()
    page.once("dialog", lambda d: d.accept())
    page.locator("#signout").click()
    sign_in(page, lang, pat["login"], "a newer secret 2")
    connected(page)
    expect(page.locator(".group-item", has_text="Follow-up")).to_be_visible()

    # A doctor invites a colleague: a one-time doctor sign-up link with its QR code.
    doctor = remembered_page(people, server, doc, lang="en", layout="desktop")
    connected(doctor)
    doctor.locator("#account summary").click()
    doctor.locator("#invite-colleague").click()
    doctor.locator("#colleague-create").click()
    expect(doctor.locator("#colleague-qr")).to_be_visible()
    link = doctor.locator("#colleague-link").input_value()
    code = link.rsplit("=", 1)[1]
    preview = httpx.get(f"{server.url}/api/invites/{code}", timeout=10).json()
    assert preview["kind"] == "doctor" and preview["inviter_name"] == "Dr. Zhou"
    people.shot(doctor, "invite-a-colleague")
