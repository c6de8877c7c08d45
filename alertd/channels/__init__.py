"""Channels: one small sender per kind, found through an explicit registry.

A sender's `send` returns when the receiver accepted the notification and raises
`DeliveryError` otherwise; `permanent=True` means retrying cannot help.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from alertd.channels.base import DeliveryError, SendContext
from alertd.notification import Notification

__all__ = ["DeliveryError", "SendContext", "Sender", "build_sender", "channel_secrets"]


class Sender(Protocol):
    """A channel's sender. It may also have `async def ready(note)`: the dispatcher awaits it
    before taking a concurrency slot, for senders that must pace themselves (Slack)."""

    async def send(self, note: Notification, *, now: datetime) -> None:
        """Deliver `note`; raises DeliveryError. `now` is the attempt's clock reading."""


def _registry() -> dict[str, Callable[[str, Any, SendContext], Sender]]:
    # Imported here, not at the top: the senders import this package's base module.
    from alertd.channels.console import ConsoleSender  # noqa: PLC0415
    from alertd.channels.email import EmailSender  # noqa: PLC0415
    from alertd.channels.slack import SlackSender  # noqa: PLC0415
    from alertd.channels.webhook import WebhookSender  # noqa: PLC0415

    return {"console": ConsoleSender, "email": EmailSender, "slack": SlackSender, "webhook": WebhookSender}


def build_sender(name: str, config: Any, ctx: SendContext) -> Sender:
    """The sender for channel `name` with validated `config` (a schema channel model)."""
    registry = _registry()
    try:
        factory = registry[config.type]
    except KeyError:
        raise DeliveryError(f"channel type {config.type!r} cannot send yet", permanent=True) from None
    return factory(name, config, ctx)


def channel_secrets(channels: Mapping[str, Any]) -> set[str]:
    """Pieces of channel URLs to redact besides the whole URLs (a Slack token echoed alone).

    Add these to the Redactor that guards any output: config.secrets holds whole values only.
    """
    from alertd.channels.http import url_secrets  # noqa: PLC0415 - http imports base, which imports this package

    found: set[str] = set()
    for spec in channels.values():
        url = getattr(spec, "url", None)
        if url is not None:
            found |= url_secrets(url.get_secret_value())
    return found
