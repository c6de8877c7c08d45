"""The config file schema: pydantic models for defaults, channels and deadline entries.

Every model forbids unknown keys: a typo must fail `alertd check`, not 3 a.m.
Secret-bearing fields are `SecretStr`, so pydantic never prints their values. The hosted
services' channel models and the union of every channel type are in `channels`.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from alertd.config.checks import (
    check_ca_file,
    check_header,
    check_host,
    check_text,
    check_url,
    is_loopback,
    visible_ascii,
)
from alertd.core.zones import UnknownZoneError, get_zone

__all__ = [
    "ConsoleChannel",
    "DeadlineEntry",
    "DefaultsEntry",
    "EmailChannel",
    "EscalationStep",
    "SlackChannel",
    "SmtpSettings",
    "WebhookChannel",
]

ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,127}$"
TITLE_MAX = 500  # characters: a title is a headline, not a document
TIMEOUT_MIN = 0.1  # seconds: a shorter timeout can only fail
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_ADDRESS = re.compile(r"^[^@\s<>\",;:\\]+@[^@\s<>\",;:\\]+\.[^@\s<>\",;:\\]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True,
                              hide_input_in_errors=True)


def _zone(value: str | None) -> str | None:
    if value is not None:
        try:
            get_zone(value)
        except UnknownZoneError:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like Europe/Moscow") from None
    return value


def _http_url(value: SecretStr) -> SecretStr:
    # The value is a secret (a Slack webhook URL is a credential): the messages never show it.
    check_url(value.get_secret_value())
    return value


def _https_url(value: SecretStr) -> SecretStr:
    check_url(value.get_secret_value(), https_unless_loopback=True)
    return value


def _secret_text(value: SecretStr | None) -> SecretStr | None:
    if value is not None:
        check_text(value.get_secret_value(), "the value")
    return value


def blank(text: str) -> bool:
    """True for a text with nothing visible (empty, spaces, zero-width or control characters only)."""
    return not any(c.isprintable() and not c.isspace() and c not in _INVISIBLE for c in text)


_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff")


class _ChannelBase(_Strict):
    timezone: str | None = None
    _check_zone = field_validator("timezone")(_zone)


class SlackChannel(_ChannelBase):
    """A Slack (or Slack-compatible) incoming webhook. The URL is itself a secret."""

    type: Literal["slack"]
    url: SecretStr
    timeout: float = Field(default=10.0, ge=TIMEOUT_MIN, le=300)
    _check_url = field_validator("url")(_https_url)


class WebhookChannel(_ChannelBase):
    """A generic JSON webhook, optionally signed with Standard Webhooks."""

    type: Literal["webhook"]
    url: SecretStr
    secret: SecretStr | None = None
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    timeout: float = Field(default=10.0, ge=TIMEOUT_MIN, le=300)
    _check_url = field_validator("url")(_http_url)
    _check_secret = field_validator("secret")(_secret_text)

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        raw = value.get_secret_value()
        if not raw.startswith("whsec_"):
            raise ValueError("secret must be a Standard Webhooks key: 'whsec_' followed by base64")
        try:
            key = base64.b64decode(raw.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raise ValueError("secret: the part after 'whsec_' is not valid base64") from None
        if len(key) < 16:
            raise ValueError("secret: the key is shorter than 16 bytes")
        return value

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, val in value.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"header name {name!r} is not a valid HTTP header name")
            check_header(name, val.get_secret_value())
        return value


class SmtpSettings(_Strict):
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = None
    timeout: float = Field(default=30.0, ge=TIMEOUT_MIN, le=300)
    _check_password = field_validator("password")(_secret_text)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return check_host(value, "host")

    @field_validator("username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        return check_text(value, "username") if value is not None else None

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, value: Path | None) -> Path | None:
        return check_ca_file(value) if value is not None else None

    @model_validator(mode="after")
    def _no_cleartext_password(self) -> SmtpSettings:
        if self.password is not None and self.security == "none" and not is_loopback(self.host):
            raise ValueError("a password with security: none would cross the network in cleartext: use "
                             "starttls or tls (none is allowed only to a loopback address)")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"starttls": 587, "tls": 465, "none": 25}[self.security]


class EmailChannel(_ChannelBase):
    type: Literal["email"]
    to: list[str] = Field(min_length=1)
    from_: str = Field(alias="from")
    smtp: SmtpSettings

    model_config = ConfigDict(populate_by_name=True)

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for addr in value:
            _address(addr)
        return value

    @field_validator("from_")
    @classmethod
    def _from(cls, value: str) -> str:
        return _address(value)


def _address(value: str) -> str:
    if (not _ADDRESS.match(value) or not visible_ascii(value.split("@", maxsplit=1)[0]) or "=?" in value
            or not value.isprintable()):
        raise ValueError(f"{value!r} is not a plain e-mail address (name@example.org)")
    return value


class ConsoleChannel(_ChannelBase):
    """Writes the alert as a log event (standard output)."""

    type: Literal["console"]



Status = Literal["open", "done", "cancelled"]


class EscalationStep(_Strict):
    """One step of `escalate`: `after` (a duration past the due) to `channels`."""

    after: str
    channels: list[str] = Field(min_length=1)


class DefaultsEntry(_Strict):
    timezone: str | None = None
    remind: list[str] | None = None
    channels: list[str] | None = None
    status: Status | None = None
    repeat: str | None = None
    repeat_for: str | None = None
    escalate: list[EscalationStep] | None = None
    _check_zone = field_validator("timezone")(_zone)


class DeadlineEntry(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    due: str
    timezone: str | None = None
    remind: list[str] | None = None
    channels: list[str] | None = None
    notes: str | None = None
    links: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    status: Status | None = None
    repeat: str | None = None
    repeat_for: str | None = None
    escalate: list[EscalationStep] | None = None
    _check_zone = field_validator("timezone")(_zone)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        if blank(value):
            raise ValueError("title is blank: it is the headline of every message")
        return value
