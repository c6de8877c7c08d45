"""The channel models of the hosted services, and `ChannelConfig`: the union of every channel type.

Teams, Discord, Telegram, ntfy, PagerDuty, Matrix and apprise. Each takes the service's URL
(the webhook URL, or a base URL whose default is the public service), so a self-hosted
server, or a test's loopback one, can stand in. Credentials are `SecretStr`; every model
says which values are secret by nature (`secret_values`), so they are redacted even when
written literally in a file.
"""

from __future__ import annotations

import logging
import re
from types import ModuleType
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, field_validator

from alertd.config.checks import check_url
from alertd.config.schema import (
    ConsoleChannel,
    EmailChannel,
    SlackChannel,
    WebhookChannel,
    _ChannelBase,
    _https_url,
)
from alertd.redact import url_secrets

__all__ = [
    "CHANNEL_MODELS",
    "CHANNEL_TYPES",
    "AppriseChannel",
    "ChannelConfig",
    "DiscordChannel",
    "MatrixChannel",
    "NtfyChannel",
    "PagerDutyChannel",
    "TeamsChannel",
    "TelegramChannel",
    "load_apprise",
]

_Timeout = Annotated[float, Field(gt=0, le=300)]


def _base_url(value: str) -> str:
    # A service's base URL carries no secret itself, but every request to it carries one (a bot
    # token in the path, a bearer token, an access token): plain http only to loopback.
    check_url(value, https_unless_loopback=True)
    parts = urlsplit(value)
    if parts.query or parts.fragment:
        raise ValueError(f"{value!r}: a base URL takes no query or fragment")
    return value.rstrip("/")


class _HookChannel(_ChannelBase):
    """A service reached through one secret webhook URL."""

    url: SecretStr
    timeout: _Timeout = 10.0
    _check_url = field_validator("url")(_https_url)  # the URL is the credential: https unless loopback

    def secret_values(self) -> set[str]:
        url = self.url.get_secret_value()
        return {url} | url_secrets(url)


class TeamsChannel(_HookChannel):
    """A Microsoft Teams Workflows webhook ("When a Teams webhook request is received")."""

    type: Literal["teams"]


class DiscordChannel(_HookChannel):
    """A Discord channel webhook (`https://discord.com/api/webhooks/ID/TOKEN`)."""

    type: Literal["discord"]


class TelegramChannel(_ChannelBase):
    """A Telegram bot (`token` from @BotFather) writing to one chat."""

    type: Literal["telegram"]
    token: SecretStr
    chat_id: str
    api_url: str = "https://api.telegram.org"
    timeout: _Timeout = 10.0
    _check_api = field_validator("api_url")(_base_url)

    @field_validator("chat_id")
    @classmethod
    def _chat(cls, value: str) -> str:
        if not re.fullmatch(r"-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31}", value):
            raise ValueError(f"chat_id {value!r} must be a chat's number (groups are negative, "
                             "e.g. -1001234567890) or a public channel's @username")
        return value

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        if not re.fullmatch(r"[0-9]+:[A-Za-z0-9_-]{20,}", value.get_secret_value()):
            raise ValueError("token must be a bot token as @BotFather gives it: digits, ':', then the key")
        return value

    def secret_values(self) -> set[str]:
        token = self.token.get_secret_value()
        return {token, token.partition(":")[2]}


class NtfyChannel(_ChannelBase):
    """An ntfy topic. On a public server the topic name is the password, so it is a secret too."""

    type: Literal["ntfy"]
    server: str = "https://ntfy.sh"
    topic: SecretStr
    token: SecretStr | None = None
    timeout: _Timeout = 10.0
    _check_server = field_validator("server")(_base_url)

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: SecretStr) -> SecretStr:
        if not re.fullmatch(r"[-_A-Za-z0-9]{1,64}", value.get_secret_value()):
            raise ValueError("topic must be 1-64 letters, digits, '-' or '_' (ntfy's topic names)")
        return value

    def secret_values(self) -> set[str]:
        return {self.topic.get_secret_value()} | ({self.token.get_secret_value()} if self.token else set())


class PagerDutyChannel(_ChannelBase):
    """A PagerDuty service's Events API v2 integration (EU accounts: events.eu.pagerduty.com)."""

    type: Literal["pagerduty"]
    routing_key: SecretStr
    url: str = "https://events.pagerduty.com/v2/enqueue"
    timeout: _Timeout = 10.0
    _check_url = field_validator("url")(_base_url)

    @field_validator("routing_key")
    @classmethod
    def _key(cls, value: SecretStr) -> SecretStr:
        # "This is the 32 character Integration Key" (developer.pagerduty.com, Events API v2);
        # any other length is refused with 400, so say it now.
        if len(value.get_secret_value()) != 32:
            raise ValueError("routing_key must be the 32-character Integration Key of an Events API v2 "
                             "integration")
        return value

    def secret_values(self) -> set[str]:
        return {self.routing_key.get_secret_value()}


class MatrixChannel(_ChannelBase):
    """A Matrix room, written to by a (bot) user's access token through the client-server API."""

    type: Literal["matrix"]
    homeserver: str = "https://matrix-client.matrix.org"
    room: str
    access_token: SecretStr
    timeout: _Timeout = 10.0
    _check_homeserver = field_validator("homeserver")(_base_url)

    @field_validator("room")
    @classmethod
    def _room(cls, value: str) -> str:
        if not re.fullmatch(r"![^:\s]+:\S+", value):
            raise ValueError(f"room {value!r} is not a room ID: use the ID like '!AbCdEf123:example.org' "
                             "(Element: Room settings, Advanced), not an alias like '#desk:example.org'")
        return value

    def secret_values(self) -> set[str]:
        return {self.access_token.get_secret_value()}


class AppriseChannel(_ChannelBase):
    """Any of apprise's services, by apprise URL (the optional extra `alertd[apprise]`)."""

    type: Literal["apprise"]
    urls: list[SecretStr] = Field(min_length=1)
    timeout: _Timeout = 30.0

    @field_validator("urls")
    @classmethod
    def _urls(cls, value: list[SecretStr]) -> list[SecretStr]:
        apprise = load_apprise()
        for i, url in enumerate(value):
            raw = url.get_secret_value()
            if apprise.Apprise.instantiate(raw) is None:
                # The URL is a secret: name its position and scheme only.
                raise ValueError(f"urls[{i}]: apprise cannot use this URL (scheme {urlsplit(raw).scheme!r}); "
                                 "see apprise's list of services for the form")
        return value

    def secret_values(self) -> set[str]:
        out: set[str] = set()
        for url in self.urls:
            out |= apprise_url_secrets(url.get_secret_value())
        return out


def apprise_url_secrets(url: str) -> set[str]:
    """An apprise URL and its parts that may be credentials on their own.

    Apprise puts tokens anywhere: `tgram://BOTTOKEN/CHAT`, `discord://ID/TOKEN`,
    `mailto://user:password@host`. Every user name, password, token-like host (no dot) and
    path or query part of 8 characters or more is redacted on its own; host names stay readable.
    """
    parts = urlsplit(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    pieces = [p for p in userinfo.split(":") if p]
    pieces += [p for p in hostport.split(":") if "." not in p and len(p) >= 8]
    pieces += [p for p in parts.path.split("/") if len(p) >= 8]
    pieces += [kv.partition("=")[2] for kv in parts.query.split("&") if len(kv.partition("=")[2]) >= 8]
    return {url} | set(pieces) | {unquote(p) for p in pieces}


_apprise: ModuleType | None = None


def load_apprise() -> ModuleType:
    """The apprise package, its own logging silenced (its messages show parts of the URLs).

    Raises ValueError (a config error) when the optional extra is not installed.
    """
    global _apprise  # noqa: PLW0603 - one import and one logger set-up per process
    if _apprise is None:
        try:
            import apprise  # noqa: PLC0415 - an optional extra, imported only for apprise channels
        except ImportError:
            raise ValueError("apprise channels need the optional package: pip install 'alertd[apprise]'") from None
        logger = logging.getLogger("apprise")
        logger.propagate = False  # never to the root logger's stderr fallback
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
        _apprise = apprise
    return _apprise


ChannelConfig = Annotated[
    SlackChannel | WebhookChannel | EmailChannel | ConsoleChannel | TeamsChannel | DiscordChannel
    | TelegramChannel | NtfyChannel | PagerDutyChannel | MatrixChannel | AppriseChannel,
    Field(discriminator="type"),
]
CHANNEL_MODELS: dict[str, Any] = {
    "apprise": AppriseChannel, "console": ConsoleChannel, "discord": DiscordChannel, "email": EmailChannel,
    "matrix": MatrixChannel, "ntfy": NtfyChannel, "pagerduty": PagerDutyChannel, "slack": SlackChannel,
    "teams": TeamsChannel, "telegram": TelegramChannel, "webhook": WebhookChannel,
}
CHANNEL_TYPES = tuple(CHANNEL_MODELS)
