"""Log lines never carry an access token from a URL nor an invite code from a path, while the
bootstrap doctor-invite URL (meant for the operator) stays readable."""

import logging

import pytest

from app.utils.logger import RequestIdFilter


def _filtered(message: str, *args: object) -> str:
    record = logging.LogRecord("app.access", logging.INFO, __file__, 1, message, args, None)
    assert RequestIdFilter().filter(record)
    return record.getMessage()


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("GET /api/invites/%s 200 1.0ms", "Q2x8abcdEFGH_ijk-lmnopqr"),
        ("POST /api/invites/%s/accept 201 3.0ms", "Q2x8abcdEFGH_ijk-lmnopqr"),
        ('"WebSocket /ws/user_1?token=%s" [accepted]', "eyJhbGciOi.payload.sig"),
    ],
)
def test_secrets_in_urls_are_blanked(line: str, secret: str) -> None:
    text = _filtered(line, secret)
    assert secret not in text and "***" in text


def test_the_bootstrap_url_stays_readable() -> None:
    line = "the first doctor signs up at http://127.0.0.1:8000%s"
    assert _filtered(line, "/#invite=abc") == line % "/#invite=abc"
    assert _filtered("POST /api/invites 201 2.0ms") == "POST /api/invites 201 2.0ms"
