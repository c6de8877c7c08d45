"""The explicit registry and the redaction pieces channels add."""

from __future__ import annotations

import asyncio

from alertd.config.filepart import channel_secrets
from alertd.config.schema import CHANNEL_TYPES, SlackChannel
from alertd.delivery.channels.base import SendContext
from alertd.delivery.channels.http import url_secrets
from alertd.delivery.channels.registry import build_sender


def test_every_channel_type_has_a_sender() -> None:
    specs = {
        "console": {"type": "console"},
        "email": {"type": "email", "to": ["a@example.org"], "from": "b@example.org", "smtp": {"host": "localhost"}},
        "slack": {"type": "slack", "url": "https://hooks.example.org/services/T1/B2/abcdefghijklmnopqrstuvwx"},
        "webhook": {"type": "webhook", "url": "https://hooks.example.org/alertd"},
    }
    assert set(specs) == set(CHANNEL_TYPES)

    async def build() -> list[str]:
        from pydantic import TypeAdapter  # noqa: PLC0415

        from alertd.config.schema import ChannelConfig  # noqa: PLC0415

        ctx = SendContext.create()
        try:
            adapter = TypeAdapter(ChannelConfig)
            return [type(build_sender(k, adapter.validate_python(v), ctx)).__name__ for k, v in specs.items()]
        finally:
            await ctx.aclose()

    assert asyncio.run(build()) == ["ConsoleSender", "EmailSender", "SlackSender", "WebhookSender"]


def test_url_tokens_are_secrets_on_their_own() -> None:
    found = url_secrets("https://user:pa55word@hooks.example.org/services/T1/B2/abcdefghijklmnopqrstuvwx?token=s3cr3t-value")
    assert {"abcdefghijklmnopqrstuvwx", "token=s3cr3t-value", "s3cr3t-value", "pa55word"} <= found
    assert "services" not in found
    assert "T1" not in found


def test_a_channel_url_and_its_token_are_both_config_secrets() -> None:
    url = "https://h.example.org/services/T/B/0123456789abcdefXYZ"
    slack = SlackChannel.model_validate({"type": "slack", "url": url})
    assert channel_secrets(slack) == {url, "0123456789abcdefXYZ"}
