"""Service settings, read from the environment and `.env` (SPEC §2).

Nothing here builds settings at import time: call `get_settings()`, which tests override.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
from contextlib import suppress
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

APP_VERSION = "0.1.0"
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
DEFAULT_DATA_DIR = Path("data")
MIN_SECRET_LENGTH = 16
MYSQL_SCHEME = "mysql+asyncmy://"
MYSQL_CHARSET = "utf8mb4"
DATABASE_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://", MYSQL_SCHEME)

logger = logging.getLogger(__name__)

AIProviderName = Literal["http", "openai", "anthropic", "deepseek", "mock"]
DEFAULT_AI_MODELS: dict[str, str] = {
    "openai": "gpt-4o-mini",
    "deepseek": "deepseek-chat",
    "anthropic": "claude-sonnet-4-6",
}
"""`AI_MODEL` when unset, per provider (`http` and `mock` take no model)."""
DEFAULT_AI_BASE_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "deepseek": "https://api.deepseek.com",
    "anthropic": "https://api.anthropic.com",
}
"""`AI_SERVICE_URL` when unset, for the providers that go through an official SDK."""
ATTACHMENT_TYPE_NAMES = ("jpeg", "png", "webp", "gif", "heic", "pdf", "text")
"""The kinds `ATTACHMENT_TYPES` may list (SPEC §12), all allowed by default."""
DEFAULT_AI_SYSTEM_PROMPT = (
    "你是医疗咨询群里的 AI 助手，不是医生：请用患者的语言简明地回答，给出一般性的健康信息，"  # noqa: RUF001
    "不做诊断、不开处方；症状严重或紧急时请立即就医。医生会跟进并给出专业意见。\n"  # noqa: RUF001
    "You are the AI assistant in a medical consultation group, not a doctor: answer briefly in "
    "the patient's language with general health information, never a diagnosis or a "
    "prescription; urge emergency care for severe or urgent symptoms. A doctor will follow up."
)

DEFAULT_AI_SUMMARY_PROMPT = (
    "你是医生的助手。请为接手的医生总结以下医疗咨询对话：主诉、相关病史、AI 已经告诉患者的内容、"  # noqa: RUF001
    "尚未解决的问题，以及你注意到的危险信号。简明、分点，用对话所用的语言；不做诊断。\n"  # noqa: RUF001
    "You assist the doctor taking over this medical consultation. Summarise the conversation "
    "for them: the complaint, relevant history, what the AI already told the patient, open "
    "questions, and any red flags you noticed. Be brief, use bullet points and the "
    "conversation's language; do not diagnose."
)
DEFAULT_AI_SUGGEST_PROMPT = (
    "你是医生的助手。请以医生的口吻起草一条回复，回应患者最近的消息；医生会修改后再发送。"  # noqa: RUF001
    "用患者的语言，简明、友善；只写回复正文。\n"  # noqa: RUF001
    "You assist the doctor in this medical consultation. Draft a reply, in the doctor's voice, "
    "to the patient's latest messages; the doctor will edit it before sending. Use the "
    "patient's language, be brief and kind, and write only the reply itself."
)


class Settings(BaseSettings):
    """Flat settings named as in SPEC §2; a bad value fails validation with the key's name.

    The seed's names are aliases (SPEC §14): `AI_BASE_URL`, `AI_API_KEY`,
    `WEBSOCKET_MAX_CONNECTIONS` (the canonical name is listed first and wins when both are set),
    `REDIS_URL` and `DEBUG` (applied only when `BROKER_URL` / `LOG_LEVEL` are unset).
    """

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", case_sensitive=False, extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    database_url: str = "sqlite+aiosqlite:///./data/im.db"
    database_pool_size: int = Field(default=10, ge=1, le=500)
    database_max_overflow: int = Field(default=20, ge=0, le=1000)
    broker_url: str = "memory://"
    redis_url: str = ""
    """The seed's name for the broker: used when `BROKER_URL` is unset."""
    redis_prefix: str = Field(default="im", min_length=1, max_length=64)

    secret_key: SecretStr | None = None
    service_api_key: SecretStr = SecretStr("")
    access_token_expire_minutes: int = Field(default=15, ge=1)
    refresh_token_expire_days: int = Field(default=30, ge=1, le=365)
    registration_open: bool = True
    doctor_signup: Literal["invite", "open"] = "invite"
    """`invite`: a DOCTOR signs up with a doctor invite (or the service key); `open`: anyone."""

    ai_enabled: bool = True
    ai_provider: AIProviderName = "mock"
    ai_service_url: str = Field(
        default="", validation_alias=AliasChoices("ai_service_url", "ai_base_url")
    )
    ai_service_api_key: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("ai_service_api_key", "ai_api_key")
    )
    ai_service_timeout: float = Field(default=30.0, gt=0, le=600)
    ai_reply_deadline: float = Field(default=30.0, gt=0, le=3600)
    ai_max_retries: int = Field(default=2, ge=0, le=10)
    ai_retry_backoff: float = Field(default=0.5, ge=0, le=60)
    ai_history_limit: int = Field(default=20, ge=0, le=200)
    ai_model: str = ""
    ai_temperature: float = Field(default=0.7, ge=0, le=2)
    ai_max_tokens: int = Field(default=1000, ge=1, le=100_000)
    ai_system_prompt: str = DEFAULT_AI_SYSTEM_PROMPT
    ai_max_reply_chars: int = Field(default=20_000, ge=100, le=1_000_000)
    ai_worker: Literal["inprocess", "celery"] = "inprocess"
    ai_concurrency: int = Field(default=256, ge=1, le=10_000)
    """AI calls in flight per process: at least patient messages per second times seconds per reply
    (a streamed reply takes seconds; calls wait on the network, not the CPU)."""
    ai_assistant_name: str = Field(default="AI Assistant", min_length=1, max_length=64)
    ai_summary_prompt: str = Field(default=DEFAULT_AI_SUMMARY_PROMPT, min_length=1)
    ai_suggest_prompt: str = Field(default=DEFAULT_AI_SUGGEST_PROMPT, min_length=1)
    """The copilot's task instructions: the system prompt, and the seed contract's `message`."""
    ai_copilot_per_minute: int = Field(default=10, ge=0, le=10_000)
    """Copilot requests (summaries, suggestions) per doctor a minute; 0: no limit."""
    ai_copilot_history_limit: int = Field(default=100, ge=1, le=1000)
    """Messages of the conversation a summary or a suggestion is given."""
    celery_broker_url: str = ""
    celery_result_backend: str = ""
    celery_queue: str = Field(default="im-ai", min_length=1, max_length=100)

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "console"] = "console"
    app_name: str = Field(default="IM Service", min_length=1, max_length=100)
    debug: bool = False
    """The seed's switch: true means `LOG_LEVEL=DEBUG` unless `LOG_LEVEL` is set."""

    ws_max_connections: int = Field(
        default=20_000,
        ge=1,
        validation_alias=AliasChoices("ws_max_connections", "websocket_max_connections"),
    )
    ws_max_connections_per_user: int = Field(default=10, ge=1, le=1000)
    ws_send_queue_size: int = Field(default=256, ge=1, le=100_000)
    ws_ping_interval: float = Field(default=20.0, gt=0)
    rate_limit_messages_per_minute: int = Field(default=120, ge=0)
    message_edit_window_minutes: int = Field(default=60 * 24, ge=0, le=60 * 24 * 365)
    """How long a sender may edit a message; 0: never."""
    message_recall_window_minutes: int = Field(default=2, ge=0, le=60 * 24 * 365)
    """How long a sender may recall a message (a group's doctors may at any time); 0: never."""
    history_cache_rows: int = Field(default=20_000, ge=0, le=10_000_000)
    """Messages of recently read history pages kept per process (0: no cache)."""

    # Attachments (SPEC §12).
    storage_url: str = "file://./data/attachments"
    """`file://DIR` or `s3://BUCKET` (with the S3_* settings)."""
    s3_endpoint_url: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: SecretStr = SecretStr("")
    s3_region: str = "us-east-1"
    attachment_max_mb: int = Field(default=20, ge=1, le=2048)
    attachment_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(ATTACHMENT_TYPE_NAMES)
    )
    """Allowed kinds, from ATTACHMENT_TYPE_NAMES (comma-separated)."""
    attachment_url_ttl_minutes: int = Field(default=60, ge=1, le=60 * 24 * 7)
    attachment_spool_dir: str = ""
    """Where uploads are written while they arrive (empty: the system's temporary directory)."""
    attachment_orphan_hours: float = Field(default=24, gt=0, le=24 * 365)
    """An upload not sent within this many hours is removed."""
    public_base_url: str = ""
    """Absolute URLs handed outside (the AI's attachments); default `http://HOST:PORT`."""
    ai_vision: bool = False
    """`openai` / `anthropic`: send a patient's images themselves (inline, scaled down)."""

    @field_validator("attachment_types", mode="before")
    @classmethod
    def _split_types(cls, value: object) -> object:
        if isinstance(value, str):
            return [kind.strip().lower() for kind in value.split(",") if kind.strip()]
        return value

    @field_validator("attachment_types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ATTACHMENT_TYPE_NAMES))
        if unknown:
            raise ValueError(
                f"unknown type(s) {', '.join(unknown)}; known: {', '.join(ATTACHMENT_TYPE_NAMES)}"
            )
        return value

    @field_validator("storage_url")
    @classmethod
    def _known_storage(cls, value: str) -> str:
        if not value.startswith(("file://", "s3://")) or value in ("file://", "s3://"):
            raise ValueError("must be file://DIRECTORY or s3://BUCKET")
        return value

    @property
    def attachment_max_bytes(self) -> int:
        return self.attachment_max_mb * 1024 * 1024

    @property
    def public_url(self) -> str:
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    # Notifications (SPEC §13).
    webhook_url: str = ""
    """Where events are POSTed (signed per Standard Webhooks); empty: webhooks off."""
    webhook_secret: SecretStr = SecretStr("")
    """`whsec_` + base64 of the signing key; required when `WEBHOOK_URL` is set."""
    webhook_max_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    webhook_timeout: float = Field(default=10.0, gt=0, le=120)
    """One attempt's deadline, response included."""
    webhook_retry_base_seconds: float = Field(default=5.0, gt=0, le=3600)
    """The first retry's delay; it doubles per attempt, capped at an hour."""
    webhook_concurrency: int = Field(default=8, ge=1, le=256)
    webhook_retention_days: int = Field(default=7, ge=1, le=3650)
    """Delivered rows are deleted after this many days (failed ones are kept)."""
    webhook_backlog_alert_seconds: float = Field(default=300.0, gt=0)
    """`/health` reports a backlog when the oldest pending delivery is older than this."""
    push_enabled: bool = False
    push_contact: str = "mailto:admin@localhost"
    """The VAPID `sub` claim: how a push service reaches the operator."""
    push_concurrency: int = Field(default=16, ge=1, le=256)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().startswith("["):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and 0 < len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters (or unset)")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(DATABASE_SCHEMES):
            raise ValueError(f"must start with {', '.join(DATABASE_SCHEMES)}")
        if value.startswith(MYSQL_SCHEME):
            return with_mysql_charset(value)
        return value

    @field_validator("broker_url", "redis_url")
    @classmethod
    def _known_broker(cls, value: str, info: ValidationInfo) -> str:
        if info.field_name == "redis_url" and value == "":
            return value
        if value != "memory://" and not value.startswith(("redis://", "rediss://")):
            raise ValueError("must be memory:// or a redis:// URL")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _http_webhook(cls, value: str) -> str:
        if value and (
            urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc
        ):
            raise ValueError(
                "WEBHOOK_URL must be an http:// or https:// URL (or empty: webhooks off)"
            )
        return value

    @field_validator("push_contact")
    @classmethod
    def _vapid_contact(cls, value: str) -> str:
        """Push services refuse a VAPID `sub` that is not a mailto: or https: URL."""
        if not value.startswith(("mailto:", "https://")) or len(value) < len("mailto:x"):
            raise ValueError("PUSH_CONTACT must be a mailto: or https:// URL")
        return value

    @model_validator(mode="after")
    def _webhook_secret_given(self) -> Settings:
        secret = self.webhook_secret.get_secret_value()
        if not self.webhook_url:
            return self
        try:
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            key = b""
        if not secret.startswith("whsec_") or len(key) < MIN_SECRET_LENGTH:
            raise ValueError(
                "WEBHOOK_SECRET (whsec_ + base64 of at least 16 random bytes) is required "
                "when WEBHOOK_URL is set"
            )
        return self

    @model_validator(mode="after")
    def _apply_seed_names(self) -> Settings:
        """`REDIS_URL` and `DEBUG` (the seed's names) yield to `BROKER_URL` and `LOG_LEVEL`."""
        if self.redis_url and "broker_url" not in self.model_fields_set:
            self.broker_url = self.redis_url
        if self.debug and "log_level" not in self.model_fields_set:
            self.log_level = "DEBUG"
        return self

    @model_validator(mode="after")
    def _ai_provider_defaults(self) -> Settings:
        if not self.ai_model:
            self.ai_model = DEFAULT_AI_MODELS.get(self.ai_provider, "")
        if not self.ai_service_url:
            self.ai_service_url = DEFAULT_AI_BASE_URLS.get(self.ai_provider, "")
        return self

    @model_validator(mode="after")
    def _check_combinations(self) -> Settings:
        if self.ai_enabled and self.ai_provider == "http" and not self.ai_service_url:
            raise ValueError("AI_SERVICE_URL is required when AI_PROVIDER=http")
        if self.ai_worker == "celery" and not self.celery_broker:
            raise ValueError("AI_WORKER=celery needs CELERY_BROKER_URL or a redis:// BROKER_URL")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or None for other databases and in-memory SQLite."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[1].split("?", 1)[0]
        return None if path in ("", ":memory:") else Path(path)

    @property
    def data_dir(self) -> Path:
        """Where local state lives: beside the SQLite file, or `./data`."""
        path = self.sqlite_path
        return path.parent if path is not None else DEFAULT_DATA_DIR

    @property
    def celery_broker(self) -> str:
        return self.celery_broker_url or (self.broker_url if self.uses_redis else "")

    @property
    def celery_backend(self) -> str:
        return self.celery_result_backend or self.celery_broker

    @property
    def uses_redis(self) -> bool:
        return self.broker_url.startswith(("redis://", "rediss://"))

    @cached_property
    def jwt_secret(self) -> str:
        """The JWT signing key: `SECRET_KEY`, or one generated once and kept in the data dir."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        key_file = self.data_dir / SECRET_KEY_FILE
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            candidate = key_file.with_suffix(f".{secrets.token_hex(4)}.tmp")
            candidate.write_text(secrets.token_urlsafe(48))
            candidate.chmod(0o600)
            # A hard link never replaces: when two processes race, the first key wins.
            with suppress(FileExistsError):
                key_file.hardlink_to(candidate)
            candidate.unlink(missing_ok=True)
        return key_file.read_text().strip()


def warn_about_settings(settings: Settings) -> list[str]:
    """Log (WARNING) settings that are valid but probably not what was meant; call once at
    start-up, after logging is configured. Returns the warnings, for tests."""
    warnings: list[str] = []
    if settings.ai_enabled and settings.ai_provider == "mock" and settings.ai_service_url:
        warnings.append(
            "AI_SERVICE_URL is set but AI_PROVIDER=mock: replies come from the built-in demo, "
            "not from that URL; set AI_PROVIDER (http, openai, anthropic, deepseek) to use it"
        )
    for warning in warnings:
        logger.warning("%s", warning)
    return warnings


def with_mysql_charset(url: str) -> str:
    """A MySQL URL that talks utf8mb4 (emoji, every CJK character): `charset=utf8mb4` is added
    when missing; any other charset is refused, since MySQL's `utf8` holds only 3 bytes."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    charsets = {value.lower() for key, value in query if key.lower() == "charset"}
    if not charsets:
        query.append(("charset", MYSQL_CHARSET))
    elif charsets != {MYSQL_CHARSET}:
        raise ValueError(
            f"DATABASE_URL: a MySQL URL must use charset={MYSQL_CHARSET} "
            f"(got charset={','.join(sorted(charsets))}); leave it out to get {MYSQL_CHARSET}"
        )
    return urlunsplit(parts._replace(query=urlencode(query)))


@lru_cache
def get_settings() -> Settings:
    return Settings()
