"""The console channel logs the same human message as every other channel."""

from __future__ import annotations

import asyncio

import structlog

from alertd.config.schema import ConsoleChannel
from alertd.core.message import render
from alertd.delivery.channels.base import SendContext
from alertd.delivery.channels.registry import build_sender
from tests.seed import seed_note


def test_the_console_logs_the_shared_message() -> None:
    note = seed_note("6h")

    async def send() -> None:
        ctx = SendContext.create()
        try:
            config = ConsoleChannel.model_validate({"type": "console", "timezone": "Asia/Tokyo"})
            await build_sender("stdout", config, ctx).send(note, now=note.scheduled_for)
        finally:
            await ctx.aclose()

    with structlog.testing.capture_logs() as logs:
        asyncio.run(send())
    (event,) = [e for e in logs if e["event"] == "alert.console"]
    expected = render(note, now=note.scheduled_for, channel_zone="Asia/Tokyo")
    assert event["text"] == expected.text
    assert event["message"] == "Ten US diplomats must leave Russia: in 6 hours (due Fri 21 May 2021, 24:00 MSK)"
    assert "Sat 22 May 2021, 06:00 JST (Asia/Tokyo)" in event["text"]
    assert (event["channel"], event["alert_id"], event["lead"]) == ("stdout", note.key, "PT6H")
