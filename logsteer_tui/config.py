"""Settings: defaults, then the TOML file, then LOGSTEER_* environment variables.

Each section of the TOML file is a model below; ``LOGSTEER_<SECTION>__<KEY>`` sets
one key from the environment (``LOGSTEER_TWILIO__AUTH_TOKEN``), and
``LOGSTEER_DATABASE_URL`` sets the database. Command-line options win over all.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from logsteer_tui.errors import ConfigError, shown_value


class Section(BaseModel):
    model_config = {"extra": "forbid"}


class GeneralSettings(Section):
    default_region: str = "HR"
    """ISO 3166 region used to read phone numbers written without a country code."""

    timezone: str = "Europe/Zagreb"
    """IANA time zone for showing times and reading dates typed by a user."""

    @field_validator("default_region")
    @classmethod
    def _check_region(cls, value: str) -> str:
        region = value.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {value!r}; use a code such as HR")
        return region

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Europe/Zagreb"
            ) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class SmsSettings(Section):
    provider: Literal["dev", "twilio"] = "dev"
    """The SMS provider: "dev" records messages in a local file, "twilio" sends them."""

    transliterate: bool = False
    """Replace Croatian letters (č ć đ š ž) by ASCII so messages stay in GSM-7."""

    max_parts: int = Field(default=10, ge=1, le=20)
    """The maximum length of one message, in SMS parts."""


class TwilioSettings(Section):
    account_sid: str = ""
    auth_token: SecretStr = SecretStr("")
    from_number: str = ""
    """The sending number in E.164; leave empty when a Messaging Service is used."""

    messaging_service_sid: str = ""
    api_base_url: str = "https://api.twilio.com"
    """Base address of Twilio's REST API; tests point it at a local fake."""

    timeout_seconds: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=10)
    """Attempts per message, counting the first, on timeouts, 429 and 5xx replies."""

    retry_backoff_seconds: float = Field(default=1.0, gt=0, le=60)
    """Wait before the first retry, in seconds; it doubles before each next one."""


class ListenerSettings(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    public_url: str = ""
    """The address providers call, such as https://sms.example.com behind a proxy."""

    max_body_bytes: int = Field(default=64 * 1024, ge=1024)


class SmsGatewaySettings(Section):
    """SMS Gateway for Android (sms-gate.app), which posts signed JSON webhooks."""

    signing_key: SecretStr = SecretStr("")
    """The key under Settings, Webhooks, Signing Key in the app; empty rejects all."""

    device_number: str = ""
    """The gateway phone's own number, stored as the recipient of incoming SMS."""

    max_clock_skew_seconds: int = Field(default=300, ge=1)
    """How far X-Timestamp may be from this machine's clock, in seconds."""


class ConsentSettings(Section):
    opt_out_keywords: list[str] = Field(
        default_factory=lambda: [
            "STOP",
            "STOPALL",
            "UNSUBSCRIBE",
            "CANCEL",
            "END",
            "QUIT",
            "REVOKE",
            "OPTOUT",
        ]
    )
    opt_in_keywords: list[str] = Field(
        default_factory=lambda: ["START", "UNSTOP", "YES"]
    )


class SendingSettings(Section):
    sms_per_second: float = Field(default=1.0, gt=0)
    """How many SMS a bulk send hands to the provider each second."""


class SchedulesSettings(Section):
    """Scheduled sending. The options of ``logsteer schedule create`` win over it."""

    grace_minutes: int = Field(default=60, ge=0)
    """The grace window of new schedules, in minutes.

    A run missed while nothing was running starts late within it and is marked
    missed after it. A schedule stores this value when it is created unless it
    sets its own (``--grace``), so a change leaves existing schedules as they are.
    """


class Settings(BaseSettings):
    """The effective settings of one run of the app."""

    model_config = SettingsConfigDict(
        env_prefix="LOGSTEER_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    database_url: str = ""
    """SQLAlchemy URL of the database; empty means the SQLite file in the data dir."""

    general: GeneralSettings = Field(default_factory=GeneralSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    twilio: TwilioSettings = Field(default_factory=TwilioSettings)
    listener: ListenerSettings = Field(default_factory=ListenerSettings)
    sms_gateway: SmsGatewaySettings = Field(default_factory=SmsGatewaySettings)
    consent: ConsentSettings = Field(default_factory=ConsentSettings)
    sending: SendingSettings = Field(default_factory=SendingSettings)
    schedules: SchedulesSettings = Field(default_factory=SchedulesSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(config_file: Path, **overrides: Any) -> Settings:
    """Read ``config_file`` (if it exists) under the environment and ``overrides``.

    Raises ConfigError naming the file and the key when a value is invalid.
    """
    if config_file.exists():
        try:
            tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(
                f"Cannot read the config file {config_file}: {error}. "
                "Fix the file or pass another one with --config."
            ) from error

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=config_file)

    try:
        return FileSettings(**overrides)
    except ValidationError as error:
        problems = "; ".join(describe_problem(item) for item in error.errors())
        raise ConfigError(
            f"Invalid settings in {config_file} or the LOGSTEER_* environment: "
            f"{problems}. Every key is listed in docs/configuration.md."
        ) from error


def describe_problem(item: Any) -> str:
    """Word one pydantic validation error with the key and the value given."""
    key = ".".join(str(part) for part in item["loc"])
    if item["type"] == "extra_forbidden":
        return f"{key} is not a known setting; check its spelling and section"
    if item["type"] == "missing":
        return f"{key} is missing"
    reason = str(item["msg"]).removeprefix("Value error, ")
    value = item.get("input")
    if isinstance(value, SecretStr | dict):
        return f"{key}: {reason}"
    return f"{key} = {shown_value(value)} is invalid: {reason}"


def secret_values(settings: Settings) -> list[str]:
    """List every non-empty secret, for masking in logs."""
    secrets: list[str] = []
    for section in settings.model_dump().values():
        if isinstance(section, dict):
            secrets.extend(
                value.get_secret_value()
                for value in section.values()
                if isinstance(value, SecretStr) and value.get_secret_value()
            )
    return secrets


def masked_dump(settings: Settings) -> dict[str, Any]:
    """Dump the settings as plain data, with every secret shown as ``********``."""

    def mask(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return "********" if value.get_secret_value() else ""
        if isinstance(value, dict):
            return {key: mask(item) for key, item in value.items()}
        return value

    return {key: mask(value) for key, value in settings.model_dump().items()}
