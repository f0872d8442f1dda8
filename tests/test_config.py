"""Settings: defaults, validation naming the key, and the generated secret key."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import SECRET_KEY_FILE, Settings, redacted_url


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)


def test_defaults_match_spec() -> None:
    settings = make()
    assert settings.database_url == "sqlite+aiosqlite:///./data/im.db"
    assert settings.broker_url == "memory://"
    assert settings.ai_provider == "mock"
    assert settings.ai_max_retries == 2
    assert settings.ai_history_limit == 20
    assert settings.ai_service_timeout == 30
    assert settings.rate_limit_messages_per_minute == 120
    assert settings.registration_open and settings.ai_enabled


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ai_service_timeout", -1),
        ("database_url", "mysql://x"),
        ("broker_url", "amqp://x"),
        ("ai_provider", "claude"),
        ("port", 70000),
        ("log_format", "xml"),
        ("secret_key", "short"),
    ],
)
def test_bad_value_names_the_key(key: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        make(**{key: value})
    assert key in str(info.value)


def test_http_provider_needs_url() -> None:
    with pytest.raises(ValidationError, match="AI_SERVICE_URL"):
        make(ai_provider="http")


def test_celery_worker_needs_a_broker() -> None:
    with pytest.raises(ValidationError, match="CELERY_BROKER_URL"):
        make(ai_worker="celery")
    assert make(ai_worker="celery", broker_url="redis://127.0.0.1:6379/0").celery_broker


def test_env_vars_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("rate_limit_messages_per_minute", "7")
    monkeypatch.setenv("CORS_ORIGINS", "http://a.example, http://b.example")
    settings = make()
    assert settings.rate_limit_messages_per_minute == 7
    assert settings.cors_origins == ["http://a.example", "http://b.example"]


def test_secret_key_is_generated_once_beside_the_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/sub/im.db"
    first = make(database_url=url).jwt_secret
    second = make(database_url=url).jwt_secret
    assert first == second and len(first) >= 32
    key_file = tmp_path / "sub" / SECRET_KEY_FILE
    assert key_file.read_text().strip() == first
    assert key_file.stat().st_mode & 0o077 == 0


def test_explicit_secret_key_wins(tmp_path: Path) -> None:
    settings = make(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/im.db", secret_key="s3cret-s3cret-s3cret"
    )
    assert settings.jwt_secret == "s3cret-s3cret-s3cret"
    assert not (tmp_path / SECRET_KEY_FILE).exists()


def test_redacted_url_hides_password() -> None:
    assert redacted_url("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert redacted_url("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql+asyncmy://im:pw@db:3306/im", "mysql+asyncmy://im:pw@db:3306/im?charset=utf8mb4"),
        (
            "mysql+asyncmy://im:pw@db/im?ssl_ca=%2Fetc%2Fca.pem",
            "mysql+asyncmy://im:pw@db/im?ssl_ca=%2Fetc%2Fca.pem&charset=utf8mb4",
        ),
        ("mysql+asyncmy://im@db/im?charset=utf8mb4", "mysql+asyncmy://im@db/im?charset=utf8mb4"),
        ("mysql+asyncmy://im@db/im?charset=UTF8MB4", "mysql+asyncmy://im@db/im?charset=UTF8MB4"),
    ],
)
def test_mysql_url_gets_utf8mb4(url: str, expected: str) -> None:
    assert make(database_url=url).database_url == expected


@pytest.mark.parametrize("charset", ["utf8", "utf8mb3", "latin1"])
def test_mysql_url_with_another_charset_is_refused_naming_the_key(charset: str) -> None:
    with pytest.raises(ValidationError, match="DATABASE_URL") as info:
        make(database_url=f"mysql+asyncmy://im@db/im?charset={charset}")
    assert "utf8mb4" in str(info.value)


@pytest.mark.parametrize("url", ["mysql://im@db/im", "mysql+pymysql://im@db/im", "mariadb://x"])
def test_other_mysql_drivers_are_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="mysql\\+asyncmy://"):
        make(database_url=url)


async def test_engine_adds_the_charset_to_a_url_given_directly() -> None:
    """Alembic and scripts hand `create_engine` a URL that skipped validation."""
    from app.db.database import create_engine

    engine = create_engine(make(), url="mysql+asyncmy://im@127.0.0.1:1/im")
    try:
        assert engine.url.query == {"charset": "utf8mb4"}
    finally:
        await engine.dispose()
