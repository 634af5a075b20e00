"""Settings from the environment (and an optional .env file). Secrets are never read from the repo."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PUBLIC_TELEGRAM_API = "https://api.telegram.org"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str = PUBLIC_TELEGRAM_API
    # the bot's @username without "@", for invitation deep links https://t.me/<username>?start=CODE
    telegram_bot_username: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    telegram_webhook_host: str = "0.0.0.0"
    telegram_webhook_port: int = Field(default=8080, ge=1, le=65535)
    telegram_concurrency: int = Field(default=32, ge=1, le=1000)  # updates handled at once

    vk_group_token: SecretStr | None = None
    vk_group_id: int | None = None
    vk_api_version: str = "5.199"
    vk_requests_per_second: float = Field(default=20.0, gt=0, le=20)

    database_url: str = "sqlite+aiosqlite:///./data/navigator.db"
    data_dir: str = "./data"

    # Comma-separated "platform:id" pairs, e.g. "telegram:12345,vk:678".
    admin_ids: str = ""
    default_timezone: str = "Europe/Moscow"
    quiet_hours_start: int = Field(default=21, ge=0, le=23)
    quiet_hours_end: int = Field(default=9, ge=0, le=23)

    psychologist_contact: str = "Региональный телефон доверия для педагогов: уточните у куратора вашей школы"
    offer_timeout_hours: int = Field(default=72, ge=1)
    log_level: str = "INFO"
    # per-account inbound flood limit: updates per 10 seconds before the bot asks the person to slow down
    inbound_limit_per_10s: int = Field(default=30, ge=1)
    announce_days_before: int = Field(default=14, ge=0, le=180)  # ДПП announcement N days before the start

    # --- delivery (outbox worker) ---
    # the whole bot's Telegram send rate (live answers and the outbox). 25/s suits the free Bot API (the
    # platform allows ~30/s); paid broadcasting raises it up to 1,000/s. Values outside (0, 1000] are refused.
    telegram_messages_per_second: float = Field(default=25.0, gt=0, le=1000)
    telegram_per_chat_per_second: float = Field(default=1.0, gt=0, le=1)
    vk_batch_size: int = Field(default=100, ge=1, le=100)
    delivery_concurrency: int = Field(default=16, ge=1, le=256)
    delivery_claim_batch: int = Field(default=200, ge=1, le=5000)
    delivery_lease_seconds: int = Field(default=300, ge=10)
    delivery_max_attempts: int = Field(default=6, ge=1, le=50)
    delivery_max_retry_after_attempts: int = Field(default=20, ge=1, le=200)
    delivery_backoff_base_seconds: float = Field(default=5.0, gt=0)
    delivery_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    delivery_max_retry_after_seconds: float = Field(default=3600.0, gt=0)
    # --- scheduler ---
    scheduler_drain_seconds: float = Field(default=1.0, gt=0)
    scheduler_leader_check_seconds: float = Field(default=15.0, gt=0)
    scheduler_misfire_grace_seconds: int = Field(default=30, ge=1)
    scheduler_leader_lock_key: int = 0x4E415647  # "NAVG"
    # --- reminders and broadcasts ---
    reminder_hour: int = Field(default=10, ge=0, le=23)
    inactivity_days: int = Field(default=14, ge=1)
    approval_wait_days: int = Field(default=2, ge=1)
    broadcast_max_text: int = Field(default=3500, ge=1, le=4000)
    # finished outbox rows (their text is cut at delivery) and handled-update ids are deleted after this
    outbox_retention_days: int = Field(default=30, ge=1, le=3650)
    # --- ИОМ workload (hours a month the route may ask besides work; README «ИОМ: подбор, бюджет, согласование») ---
    iom_hours_per_month: int = Field(default=12, ge=1, le=80)
    iom_dpp_hours_per_month: int = Field(default=10, ge=0, le=80)
    iom_hours_per_month_first_year: int = Field(default=8, ge=1, le=80)
    iom_dpp_hours_per_month_first_year: int = Field(default=6, ge=0, le=80)
    # --- VK Callback API (instead of the long poll when the confirmation string is set) ---
    vk_callback_confirmation: str | None = None  # the string VK shows in the community's Callback API page
    vk_callback_secret: SecretStr | None = Field(default=None, validate_default=True)
    vk_callback_host: str = "0.0.0.0"
    vk_callback_port: int = Field(default=8081, ge=1, le=65535)
    vk_callback_path: str = "/vk/callback"

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if info.data.get("telegram_webhook_url"):
            secret = value.get_secret_value() if value is not None else ""
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
                raise ValueError(
                    "обязательна вместе с TELEGRAM_WEBHOOK_URL: 1–256 символов A–Z, a–z, 0–9, _ и -"
                )
        return value

    @field_validator("vk_callback_secret")
    @classmethod
    def _check_vk_callback_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if info.data.get("vk_callback_confirmation"):
            secret = value.get_secret_value() if value is not None else ""
            if not re.fullmatch(r"[A-Za-z0-9]{1,50}", secret):
                raise ValueError("обязательна вместе с VK_CALLBACK_CONFIRMATION: 1–50 латинских букв и цифр")
        return value

    @field_validator("vk_callback_path")
    @classmethod
    def _check_vk_callback_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("путь должен начинаться с /")
        return value

    @field_validator("admin_ids")
    @classmethod
    def _check_admin_ids(cls, value: str) -> str:
        for pair in filter(None, (part.strip() for part in value.split(","))):
            platform, _, ident = pair.partition(":")
            if platform not in {"telegram", "vk", "console"} or not ident:
                raise ValueError(f"expected platform:id pairs (telegram/vk/console), got {pair!r}")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        ZoneInfo(value)
        return value

    @property
    def admin_accounts(self) -> set[tuple[str, str]]:
        pairs = filter(None, (part.strip() for part in self.admin_ids.split(",")))
        return {(p.partition(":")[0], p.partition(":")[2]) for p in pairs}


class SettingsError(Exception):
    """A wrong setting: the message is one clear line."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]).upper()
        raise SettingsError(f"Настройка {field} неверна: {first['msg']}") from None
