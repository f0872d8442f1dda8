"""Settings: defaults, validation naming the key, and the generated secret key."""

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from pydantic import ValidationError

from app.config import SECRET_KEY_FILE, Settings, warn_about_settings
from app.main import create_app
from app.tasks.celery_app import configure
from app.utils.logger import configure_logging


def make(**values: Any) -> Settings:
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


@pytest.mark.parametrize(
    ("seed_name", "value", "field", "expected"),
    [
        ("AI_BASE_URL", "http://seed.example/chat", "ai_service_url", "http://seed.example/chat"),
        ("WEBSOCKET_MAX_CONNECTIONS", "77", "ws_max_connections", 77),
        ("REDIS_URL", "redis://seed.example:6379/1", "broker_url", "redis://seed.example:6379/1"),
        ("APP_NAME", "Clinic Chat", "app_name", "Clinic Chat"),
        ("DEBUG", "true", "log_level", "DEBUG"),
    ],
)
def test_seed_names_are_aliases(
    monkeypatch: pytest.MonkeyPatch, seed_name: str, value: str, field: str, expected: object
) -> None:
    monkeypatch.setenv(seed_name, value)
    assert getattr(make(), field) == expected


def test_seed_api_key_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_API_KEY", "seed-key")
    assert make().ai_service_api_key.get_secret_value() == "seed-key"
    monkeypatch.setenv("AI_SERVICE_API_KEY", "canonical-key")
    assert make().ai_service_api_key.get_secret_value() == "canonical-key"


@pytest.mark.parametrize(
    ("canonical", "seed_name", "field", "expected"),
    [
        ("AI_SERVICE_URL", "AI_BASE_URL", "ai_service_url", "http://canonical.example"),
        ("WS_MAX_CONNECTIONS", "WEBSOCKET_MAX_CONNECTIONS", "ws_max_connections", 5),
        ("BROKER_URL", "REDIS_URL", "broker_url", "memory://"),
        ("LOG_LEVEL", "DEBUG", "log_level", "WARNING"),
    ],
)
def test_the_canonical_name_wins(
    monkeypatch: pytest.MonkeyPatch, canonical: str, seed_name: str, field: str, expected: object
) -> None:
    seed_values = {"AI_BASE_URL": "http://seed.example", "WEBSOCKET_MAX_CONNECTIONS": "9"}
    seed_values |= {"REDIS_URL": "redis://seed.example:6379/0", "DEBUG": "true"}
    canonical_values = {"AI_SERVICE_URL": "http://canonical.example", "WS_MAX_CONNECTIONS": "5"}
    canonical_values |= {"BROKER_URL": "memory://", "LOG_LEVEL": "warning"}
    monkeypatch.setenv(seed_name, seed_values[seed_name])
    monkeypatch.setenv(canonical, canonical_values[canonical])
    assert getattr(make(), field) == expected


def test_seed_aliases_work_from_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("AI_PROVIDER=http\nAI_BASE_URL=http://seed.example/chat\nAI_API_KEY=k\n")
    settings = Settings(_env_file=env_file)
    assert settings.ai_service_url == "http://seed.example/chat"
    assert settings.ai_service_api_key.get_secret_value() == "k"


def test_a_bad_seed_broker_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "amqp://x")
    with pytest.raises(ValidationError, match="redis_url"):
        make()


def test_unknown_provider_names_the_key_and_the_choices() -> None:
    with pytest.raises(ValidationError) as info:
        make(ai_provider="claude")
    message = str(info.value)
    assert "ai_provider" in message.lower()
    for choice in ("http", "openai", "anthropic", "deepseek", "mock"):
        assert f"'{choice}'" in message


def test_ai_defaults_per_provider() -> None:
    assert make().ai_max_reply_chars == 20_000
    assert (make().ai_model, make().ai_service_url) == ("", "")
    assert make(ai_provider="openai").ai_service_url == "https://api.openai.com/v1"
    assert make(ai_provider="anthropic").ai_service_url == "https://api.anthropic.com"
    assert make(ai_provider="openai", ai_service_url="http://vllm:8000/v1").ai_service_url == (
        "http://vllm:8000/v1"
    )
    prompt = make().ai_system_prompt
    assert "不是医生" in prompt and "not a doctor" in prompt and "A doctor will follow up" in prompt


def test_a_url_with_the_mock_provider_warns_at_start_up(caplog: pytest.LogCaptureFixture) -> None:
    settings = make(ai_provider="mock", ai_service_url="http://ai.example/chat")
    config_logger = logging.getLogger("app.config")
    # create_app installs its own root handler; listen on the module's logger itself.
    config_logger.addHandler(caplog.handler)
    try:
        app = create_app(settings.model_copy(update={"app_name": "Clinic Chat"}))
    finally:
        config_logger.removeHandler(caplog.handler)
    assert app.title == "Clinic Chat"
    [record] = [r for r in caplog.records if r.name == "app.config"]
    assert record.levelno == logging.WARNING
    assert "AI_SERVICE_URL is set but AI_PROVIDER=mock" in record.getMessage()
    assert warn_about_settings(make(ai_provider="mock")) == []
    assert warn_about_settings(make(ai_provider="http", ai_service_url="http://x")) == []
    assert warn_about_settings(settings.model_copy(update={"ai_enabled": False})) == []


def test_celery_configuration_as_loaded() -> None:
    app = Celery("test", set_as_current=False)
    configure(app, make(broker_url="redis://127.0.0.1:6379/0"))
    assert app.conf.task_time_limit == 300
    assert app.conf.worker_max_tasks_per_child == 1000
    assert app.conf.task_track_started is True
    assert app.conf.task_acks_late is True and app.conf.worker_prefetch_multiplier == 1
    assert app.conf.broker_url == "redis://127.0.0.1:6379/0"


def test_json_log_records_carry_module_function_and_line() -> None:
    root = logging.getLogger()
    saved = root.handlers, root.level
    try:
        configure_logging("INFO", "json")
        stream = io.StringIO()
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        logging.getLogger("app.test").info("hello %s", "world")
        line = json.loads(stream.getvalue())
    finally:
        root.handlers, root.level = saved[0], saved[1]
    assert line["message"] == "hello world"
    assert line["module"] == "test_config"
    assert line["function"] == "test_json_log_records_carry_module_function_and_line"
    assert isinstance(line["line"], int) and line["line"] > 0
    assert {"time", "level", "name", "request_id"} <= line.keys()
    assert "funcName" not in line and "lineno" not in line


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


def test_the_copilot_settings_have_bilingual_defaults_and_refuse_empty_instructions() -> None:
    settings = make()
    assert "总结" in settings.ai_summary_prompt and "Summarise" in settings.ai_summary_prompt
    assert "起草" in settings.ai_suggest_prompt and "Draft a reply" in settings.ai_suggest_prompt
    assert (settings.ai_copilot_per_minute, settings.ai_copilot_history_limit) == (10, 100)
    for name in ("ai_summary_prompt", "ai_suggest_prompt"):
        with pytest.raises(ValidationError, match=name):
            make(**{name: ""})
    with pytest.raises(ValidationError, match="ai_copilot_per_minute"):
        make(ai_copilot_per_minute=-1)
