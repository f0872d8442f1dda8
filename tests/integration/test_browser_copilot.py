"""The copilot in the web client (SPEC §15, §16), in headless Chromium against a real
`python -m app` with the built-in demo AI: a doctor asks for a reply suggestion, watches it
arrive, puts it into the composer with "Use"; switching the AI off brings the hand-over
summary; the patient's page never shows either."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.integration.browser_kit import (
    People,
    Server,
    close_details,
    consultation_group,
    create_user,
    crowd_for,
    launch_browser,
    open_details,
    open_group,
    running_server,
    send,
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
    yield from running_server(tmp_path_factory.mktemp("copilot"))


@pytest.mark.parametrize(
    ("lang", "layout"),
    [pytest.param("en", "desktop", id="en-desktop"), pytest.param("zh-CN", "phone", id="zh-phone")],
)
def test_a_doctor_uses_the_copilot_and_the_patient_never_sees_it(
    server: Server, people: People, lang: str, layout: str
) -> None:
    doc = create_user(server, "Dr. Wang", "DOCTOR")
    pat = create_user(server, "Ming", "PATIENT")
    name = f"Knee {layout}"
    consultation_group(server, doc, pat, name)
    patient = signed_in_page(people, server, pat, "en", layout)
    doctor = signed_in_page(people, server, doc, lang, layout)
    open_group(patient, name)
    open_group(doctor, name)
    send(patient, "My knee hurts when I climb stairs.")
    expect(doctor.locator("#message-list .msg.ai:not(.stream)")).to_have_count(1)

    open_details(people, patient)
    expect(patient.locator("#copilot")).to_have_count(0)
    close_details(people, patient)

    open_details(people, doctor)
    section = doctor.locator("#copilot")
    expect(section.locator("#copilot-empty")).to_have_text(t(lang, "copilot.none"))
    section.get_by_role("button", name=t(lang, "copilot.suggest")).click()
    suggestion = section.locator(".copilot-record[data-kind=SUGGESTION][data-status=SUCCESS]")
    expect(suggestion.locator(".copilot-text")).to_contain_text("[Demo AI suggestion]")
    expect(suggestion).to_contain_text(t(lang, "copilot.kind.SUGGESTION"))
    people.shot(doctor, "doctor-suggestion")
    drafted = suggestion.locator(".copilot-text").inner_text()
    suggestion.get_by_role("button", name=t(lang, "copilot.use")).click()
    composer = doctor.locator("#composer-input")
    expect(composer).to_be_visible()  # a phone goes back to the conversation by itself
    expect(composer).to_have_value(drafted)
    people.shot(doctor, "doctor-suggestion-used")

    open_details(people, doctor)
    doctor.locator("#ai-toggle").click()  # the hand-over
    summary = section.locator(".copilot-record[data-kind=SUMMARY][data-status=SUCCESS]")
    expect(summary.locator(".copilot-text")).to_contain_text("[Demo AI summary]")
    people.shot(doctor, "doctor-handover-summary")

    # The patient's page: the AI's reply, never the copilot's texts.
    expect(patient.locator("#message-list .msg.ai:not(.stream)")).to_have_count(1)
    expect(patient.get_by_text("[Demo AI suggestion]")).to_have_count(0)
    expect(patient.get_by_text("[Demo AI summary]")).to_have_count(0)
    patient.reload()  # the page reopens the group it showed
    expect(patient.locator("#convo-title")).to_have_text(name)
    expect(patient.locator("#message-list .msg.ai:not(.stream)")).to_have_count(1)
    expect(patient.get_by_text("Demo AI s")).to_have_count(0)
