"""What the hosted-service channel tests share: notes of any kind, hostile text, one attempt."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from alertd.config.channels import ChannelConfig
from alertd.core.leads import parse_lead
from alertd.core.notification import Notification
from alertd.delivery.channels.base import DeliveryError, SendContext
from alertd.delivery.channels.registry import build_sender
from alertd.redact import Redactor
from tests.seed import seed_deadline, utc

# The seed's 1-day reminder is planned for this instant; its due is 2021-05-21T21:00:00Z.
ON_TIME = utc(2021, 5, 20, 21)
SEED_DUES = ("Due Fri 21 May 2021, 24:00 MSK (Europe/Moscow)", "Due Fri 21 May 2021, 21:00 UTC")

# Markup of every service (Slack, Markdown, HTML, Discord/Matrix mentions), RTL text and an emoji.
HOSTILE_TITLE = "<!channel> @everyone @room <b>bold</b> &amp; **md** [x](https://evil.example) שלום 🚨"
LONG_NOTES = ("Ünïcödé 🚀 notes " * 700)[:10_000]


def channel(spec: dict[str, Any]) -> Any:
    return TypeAdapter(ChannelConfig).validate_python(spec)


def note(lead: str = "1d", *, kind: str | None = None, title: str | None = None, notes: str | None = None,
         links: tuple[str, ...] | None = None, channel_name: str = "ops") -> Notification:
    """The seed deadline's alert at `lead`, optionally of another kind (the kinds after the due
    are plain strings to the senders) and with other text."""
    d = seed_deadline()
    d = replace(d, title=d.title if title is None else title, notes=d.notes if notes is None else notes,
                links=d.links if links is None else links)
    value = parse_lead(lead)
    n = Notification.for_alert(d, value, d.fire_at(value), channel_name)
    return n if kind is None else replace(n, kind=kind)  # type: ignore[arg-type]


async def attempt(config: Any, n: Notification, *, now: datetime = ON_TIME,
                  secrets: tuple[str, ...] = ()) -> DeliveryError | None:
    """One delivery attempt with a fresh context: the error, or None when accepted."""
    ctx = SendContext.create(Redactor(secrets))
    try:
        await build_sender("ops", config, ctx).send(n, now=now)
    except DeliveryError as exc:
        return exc
    finally:
        await ctx.aclose()
    return None
