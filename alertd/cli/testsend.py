"""`alertd test CHANNEL`: send an `alertd.test` notification to one channel now.

Exit 0 only when the receiver accepted it, 1 when it failed or the config is
invalid, 2 when CHANNEL names no channel (a usage error, raised as `UsageError`). Everything printed
passes through the config's redactor.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

import structlog

from alertd.cli.common import UsageError
from alertd.config import Config, load_or_report
from alertd.core.display import printable
from alertd.core.leads import Lead
from alertd.core.model import Deadline, Source
from alertd.core.notification import Notification, delivery_key
from alertd.core.timerules import WrittenDue
from alertd.delivery.channels.base import DeliveryError, SendContext, error_text
from alertd.delivery.channels.registry import build_sender
from alertd.exitcodes import EX_FAIL, EX_OK
from alertd.logs import configure_logging
from alertd.redact import Redactor
from alertd.settings import Settings

__all__ = ["cmd_test", "make_test_notification"]

TEST_ID = "alertd-test"
TEST_LEAD = Lead(days=1)


def make_test_notification(channel: str, *, now: datetime, timezone: str | None = None) -> Notification:
    """A test alert for `channel`: a made-up deadline one day after `now` (a fresh key each time)."""
    due = (now + timedelta(days=1)).replace(microsecond=0)
    deadline = Deadline(
        id=TEST_ID, title=f"alertd test notification for channel {channel}", timezone=timezone or "UTC",
        written=WrittenDue(wall=None, instant=due, end_of_day=False), due=due, leads=(TEST_LEAD,),
        channels=(channel,), notes="If you can read this, alertd can deliver to this channel.",
        source=Source("<alertd test>"),
    )
    return Notification(kind="alertd.test", key=delivery_key(TEST_ID, TEST_LEAD, due, channel), deadline=deadline,
                        lead=TEST_LEAD, scheduled_for=now, channel=channel)


async def _send(config: Config, channel: str, note: Notification, now: datetime, redact: Redactor) -> None:
    ctx = SendContext.create(redact, max_connections=4)
    try:
        sender = build_sender(channel, config.channels[channel], ctx)
        await sender.send(note, now=now)
    finally:
        await ctx.aclose()


def cmd_test(config_dir: Path, channel: str, settings: Settings, *, now: datetime, out: TextIO,
             err: TextIO) -> int:
    """Send the test notification; print the outcome; return the exit code.

    The log events a channel writes (the console channel's message) take the format `alertd run`
    would give them: JSON when standard error is not a terminal or goes to the journal.
    """
    config = load_or_report(config_dir, err)
    if config is None:
        return EX_FAIL
    redact = Redactor(config.secrets)  # channel URLs and their tokens are config secrets
    if channel not in config.channels:
        known = ", ".join(sorted(config.channels)) or "none"
        raise UsageError(f"no channel {channel!r} in {printable(str(config_dir))} (defined: {known})")
    spec = config.channels[channel]
    note = make_test_notification(channel, now=now, timezone=spec.timezone)
    previous = structlog.get_config()  # given back after: `main` can be called more than once in a process
    configure_logging(settings.log_level, settings.log_format, redact)
    try:
        asyncio.run(_send(config, channel, note, now, redact))
    except DeliveryError as exc:
        kind = "permanent" if exc.permanent else "temporary"
        print(f"alertd: test to {channel} ({spec.type}) failed ({kind}): {error_text(str(exc), redact)}", file=err)
        return EX_FAIL
    finally:
        structlog.configure(**previous)
    print(redact(f"test notification {note.key} to {channel} ({spec.type}) accepted"), file=out)
    return EX_OK
