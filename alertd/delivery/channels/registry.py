"""The channel registry: an explicit table from a config `type` to its sender class.

A sender's `send` returns when the receiver accepted the notification and raises
`DeliveryError` otherwise; `permanent=True` means retrying cannot help.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from alertd.core.notification import Notification
from alertd.delivery.channels.apprise import AppriseSender
from alertd.delivery.channels.base import DeliveryError, SendContext
from alertd.delivery.channels.console import ConsoleSender
from alertd.delivery.channels.discord import DiscordSender
from alertd.delivery.channels.email import EmailSender
from alertd.delivery.channels.matrix import MatrixSender
from alertd.delivery.channels.ntfy import NtfySender
from alertd.delivery.channels.pagerduty import PagerDutySender
from alertd.delivery.channels.slack import SlackSender
from alertd.delivery.channels.teams import TeamsSender
from alertd.delivery.channels.telegram import TelegramSender
from alertd.delivery.channels.webhook import WebhookSender

__all__ = ["SENDERS", "Sender", "build_sender"]


class Sender(Protocol):
    """A channel's sender. It may also have `async def ready(note)`: the dispatcher awaits it
    before taking a concurrency slot, for senders that must pace themselves (Slack)."""

    async def send(self, note: Notification, *, now: datetime) -> None:
        """Deliver `note`; raises DeliveryError. `now` is the attempt's clock reading.

        Senders dispatch on `note.kind` as a string (reminder, due, test, and the kinds after
        the due: overdue, escalation, acknowledged, done, snoozed), see `tone`."""


SENDERS: dict[str, Callable[[str, Any, SendContext], Sender]] = {
    "apprise": AppriseSender,
    "console": ConsoleSender,
    "discord": DiscordSender,
    "email": EmailSender,
    "matrix": MatrixSender,
    "ntfy": NtfySender,
    "pagerduty": PagerDutySender,
    "slack": SlackSender,
    "teams": TeamsSender,
    "telegram": TelegramSender,
    "webhook": WebhookSender,
}


def build_sender(name: str, config: Any, ctx: SendContext) -> Sender:
    """The sender for channel `name` with validated `config` (a schema channel model)."""
    try:
        factory = SENDERS[config.type]
    except KeyError:
        raise DeliveryError(f"channel type {config.type!r} cannot send yet", permanent=True) from None
    return factory(name, config, ctx)
