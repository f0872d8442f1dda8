"""URLs with their credentials removed (app/utils/urls.py): what is stored and shown as an AI
record's `ai_service_url`."""

import pytest

from app.utils.urls import redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://ai.example/chat", "https://ai.example/chat"),
        ("https://user:s3cret@ai.example:8443/v1", "https://ai.example:8443/v1"),
        ("https://token@ai.example/v1", "https://ai.example/v1"),
        (
            "https://ai.example/chat?api_key=s3cret&lang=zh",
            "https://ai.example/chat?api_key=***&lang=zh",
        ),
        (
            "https://ai.example/chat?key=a&Token=b&x-api-key=c",
            "https://ai.example/chat?key=***&Token=***&x-api-key=***",
        ),
        (
            "https://ai.example/chat?model=gpt&client_secret=z",
            "https://ai.example/chat?model=gpt&client_secret=***",
        ),
        ("mock://builtin", "mock://builtin"),
    ],
)
def test_credentials_are_removed(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert "s3cret" not in redact_url(url)
