"""The explicit registry and the redaction pieces channels add."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import TypeAdapter

from alertd.config.channels import CHANNEL_TYPES, ChannelConfig
from alertd.config.filepart import channel_secrets
from alertd.config.schema import SlackChannel
from alertd.delivery.channels.base import SendContext
from alertd.delivery.channels.http import url_secrets
from alertd.delivery.channels.registry import build_sender

SPECS = {
    "apprise": {"type": "apprise", "urls": ["json://127.0.0.1:9/hook"]},
    "console": {"type": "console"},
    "discord": {"type": "discord", "url": "https://discord.com/api/webhooks/1/abcdefghijklmnopqrstuvwxyz"},
    "email": {"type": "email", "to": ["a@example.org"], "from": "b@example.org", "smtp": {"host": "localhost"}},
    "matrix": {"type": "matrix", "room": "!room:example.org", "access_token": "syt_abcdefghijkl"},
    "ntfy": {"type": "ntfy", "topic": "alertd-desk-7f3a"},
    "pagerduty": {"type": "pagerduty", "routing_key": "R" * 32},
    "slack": {"type": "slack", "url": "https://hooks.example.org/services/T1/B2/abcdefghijklmnopqrstuvwx"},
    "teams": {"type": "teams", "url": "https://prod.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/"
                                      "invoke?api-version=2016-06-01&sig=abcdefghijklmnopqrstuvwxyz012345"},
    "telegram": {"type": "telegram", "token": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi", "chat_id": "-100200300"},
    "webhook": {"type": "webhook", "url": "https://hooks.example.org/alertd"},
}


def test_every_channel_type_has_a_sender() -> None:
    assert set(SPECS) == set(CHANNEL_TYPES)

    async def build() -> dict[str, str]:
        ctx = SendContext.create()
        try:
            adapter = TypeAdapter(ChannelConfig)
            return {k: type(build_sender(k, adapter.validate_python(v), ctx)).__name__ for k, v in SPECS.items()}
        finally:
            await ctx.aclose()

    assert asyncio.run(build()) == {
        "apprise": "AppriseSender", "console": "ConsoleSender", "discord": "DiscordSender", "email": "EmailSender",
        "matrix": "MatrixSender", "ntfy": "NtfySender", "pagerduty": "PagerDutySender", "slack": "SlackSender",
        "teams": "TeamsSender", "telegram": "TelegramSender", "webhook": "WebhookSender"}


@pytest.mark.parametrize(("kind", "secrets"), [
    ("discord", {"abcdefghijklmnopqrstuvwxyz"}),
    ("matrix", {"syt_abcdefghijkl"}),
    ("ntfy", {"alertd-desk-7f3a"}),
    ("pagerduty", {"R" * 32}),
    ("teams", {"abcdefghijklmnopqrstuvwxyz012345"}),
    ("telegram", {"123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi"}),
])
def test_each_hosted_channels_credentials_are_config_secrets(kind: str, secrets: set[str]) -> None:
    found = channel_secrets(TypeAdapter(ChannelConfig).validate_python(SPECS[kind]))
    assert secrets <= found


def test_an_apprise_urls_tokens_are_secrets_but_host_names_stay_readable() -> None:
    spec = {"type": "apprise", "urls": ["tgram://123456789:AAHbotTokenSecret/12345678",
                                        "mailto://alertd:mail-pa55word@smtp.example.org"]}
    found = channel_secrets(TypeAdapter(ChannelConfig).validate_python(spec))
    assert {"123456789", "AAHbotTokenSecret", "mail-pa55word", *spec["urls"]} <= found
    assert "smtp.example.org" not in found


def test_url_tokens_are_secrets_on_their_own() -> None:
    found = url_secrets("https://user:pa55word@hooks.example.org/services/T1/B2/abcdefghijklmnopqrstuvwx?token=s3cr3t-value")
    assert {"abcdefghijklmnopqrstuvwx", "token=s3cr3t-value", "s3cr3t-value", "pa55word"} <= found
    assert "services" not in found
    assert "T1" not in found


def test_a_channel_url_and_its_token_are_both_config_secrets() -> None:
    url = "https://h.example.org/services/T/B/0123456789abcdefXYZ"
    slack = SlackChannel.model_validate({"type": "slack", "url": url})
    assert channel_secrets(slack) == {url, "0123456789abcdefXYZ"}
