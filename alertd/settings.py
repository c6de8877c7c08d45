"""Process settings from the environment (`ALERTD_*`), with systemd's directories as fallbacks."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from alertd.core.leads import LeadError, parse_lead
from alertd.core.urls import check_url

__all__ = ["LINK_SECRET_CREDENTIAL", "MAX_WATCH", "MIN_WATCH", "Settings", "link_secret", "parse_interval",
           "resolve_config_dir", "resolve_instance", "resolve_state_dir"]

LINK_SECRET_CREDENTIAL = "link-secret"  # noqa: S105 - a credential file name, not a secret; systemd LoadCredential= name of the action-link secret
_LINK_SECRET_MIN = 16  # characters: a shorter secret could be guessed offline from one link

MIN_WATCH = timedelta(milliseconds=100)  # (the loop wakes every 250 ms: a shorter interval polls on each wake)
MAX_WATCH = timedelta(days=1)
_INTERVAL = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h)?")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class Settings(BaseSettings):
    """`ALERTD_CONFIG_DIR`, `ALERTD_STATE_DIR`, `ALERTD_CATCHUP`, `ALERTD_LOG_FORMAT`, `ALERTD_WATCH`, ..."""

    model_config = SettingsConfigDict(env_prefix="ALERTD_", extra="ignore")

    config_dir: Path | None = None
    state_dir: Path | None = None
    catchup: timedelta = Field(default=timedelta(hours=1))
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    concurrency: int = Field(default=200, ge=1, le=5000)
    shutdown_grace: float = Field(default=10.0, ge=0, le=600)
    metrics_addr: str | None = None
    http_addr: str | None = None  # the HTTP surface (alertd/web): status page, API, /metrics, /healthz; off by default
    api_token: SecretStr | None = None  # the bearer token it asks for (else the credential `api-token`)
    watch: timedelta | None = None  # poll the config directory this often and reload on a change; off by default
    # Several instances on one PostgreSQL (docs/high-availability.md): a libpq URL whose password may be a
    # ${NAME} reference; unset: the SQLite ledger in the state directory. SecretStr: never in a repr or a log.
    database_url: SecretStr | None = None
    instance: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$")
    # Signed action links (docs/http.md): the base URL people open them at; unset: messages carry none.
    public_url: str | None = None
    # The secret action links are signed with; unset (and no credential link-secret): a key the store makes.
    link_secret: SecretStr | None = None

    @field_validator("public_url", mode="before")
    @classmethod
    def _public_url(cls, value: object) -> object:
        if not isinstance(value, str) or not value.strip():
            return None if isinstance(value, str) else value
        try:
            check_url(value, https_unless_loopback=True)
        except ValueError as exc:
            raise ValueError(str(exc).replace("url", "the public URL", 1).replace(
                "send the credential in cleartext", "send the action links in cleartext")) from None
        if "?" in value or "#" in value:
            raise ValueError("the public URL is a base (https://alertd.example.org or .../alertd): no ? or #")
        return value.rstrip("/")

    @field_validator("link_secret", mode="after")
    @classmethod
    def _link_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < _LINK_SECRET_MIN:
            raise ValueError(f"must be at least {_LINK_SECRET_MIN} characters (e.g. `openssl rand -base64 32`)")
        return value

    @field_validator("catchup", mode="before")
    @classmethod
    def _catchup(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                lead = parse_lead(value)
            except LeadError as exc:
                raise ValueError(str(exc).replace("lead", "ALERTD_CATCHUP", 1)) from None
            return timedelta(days=lead.days, seconds=lead.seconds)
        return value

    @field_validator("watch", mode="before")
    @classmethod
    def _watch(cls, value: object) -> object:
        return parse_interval(value) if isinstance(value, str) else value

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


def resolve_config_dir(cli: Path | None, settings: Settings) -> Path:
    """`--config`, else ALERTD_CONFIG_DIR, else $CONFIGURATION_DIRECTORY, else ./config."""
    if cli is not None:
        return cli
    if settings.config_dir is not None:
        return settings.config_dir
    systemd = os.environ.get("CONFIGURATION_DIRECTORY")
    if systemd:
        return Path(systemd.split(":")[0])
    return Path("config")


def resolve_state_dir(settings: Settings) -> Path:
    """ALERTD_STATE_DIR, else $STATE_DIRECTORY, else ./state."""
    if settings.state_dir is not None:
        return settings.state_dir
    systemd = os.environ.get("STATE_DIRECTORY")
    if systemd:
        return Path(systemd.split(":")[0])
    return Path("state")


def resolve_instance(settings: Settings) -> str:
    """ALERTD_INSTANCE, else the host name: this instance's name in the shared store and in logs."""
    return settings.instance or socket.gethostname()


def link_secret(settings: Settings, env: Mapping[str, str] | None = None) -> str | None:
    """The action-link secret: ALERTD_LINK_SECRET, else the credential `link-secret`; None when neither.

    Raises ValueError for a credential file that is too short (the variable is checked as it is read).
    """
    if settings.link_secret is not None:
        return settings.link_secret.get_secret_value()
    env = os.environ if env is None else env
    creds = env.get("CREDENTIALS_DIRECTORY")
    path = Path(creds.split(":")[0]) / LINK_SECRET_CREDENTIAL if creds else None
    if path is None or not path.is_file():
        return None
    secret = path.read_text(encoding="utf-8").removesuffix("\n")
    if len(secret) < _LINK_SECRET_MIN:
        raise ValueError(f"credential {LINK_SECRET_CREDENTIAL}: must be at least {_LINK_SECRET_MIN} characters "
                         "(e.g. `openssl rand -base64 32`)")
    return secret


def parse_interval(text: str) -> timedelta | None:
    """`2s`, `500ms`, `0.5s`, `1m`, `1h`, a bare number of seconds; `0` or `off` → None (no watching).

    Raises ValueError for anything else, or for less than 100 ms or more than a day.
    """
    value = text.strip().lower()
    if value in ("0", "off", "false", "no", ""):
        return None
    match = _INTERVAL.fullmatch(value)
    if match is None:
        raise ValueError(f"watch interval {text!r} is not a duration: use e.g. 2s, 500ms or 1m; 0 or off disables it")
    seconds = float(match[1]) * _UNIT_SECONDS[match[2] or "s"]
    if seconds == 0:
        return None
    if not MIN_WATCH.total_seconds() <= seconds <= MAX_WATCH.total_seconds():
        raise ValueError(f"watch interval {text!r} must be from 100ms to 1 day (e.g. 2s)")
    return timedelta(seconds=seconds)
