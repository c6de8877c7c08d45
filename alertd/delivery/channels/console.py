"""The console channel: the alert's human message as a log event (standard error, or the journal)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import structlog

from alertd.config.schema import ConsoleChannel
from alertd.core.display import rfc3339
from alertd.core.message import render
from alertd.core.notification import Notification
from alertd.delivery.channels.base import SendContext

__all__ = ["ConsoleSender"]

log = structlog.get_logger("alertd.console")


class ConsoleSender:
    def __init__(self, name: str, config: ConsoleChannel, ctx: SendContext) -> None:
        self.name = name
        self.config = config
        self.ctx = ctx

    async def send(self, note: Notification, *, now: datetime) -> None:
        # A log is no place for a capability: the action links are left out (the console shows the
        # `alertd ack` hint instead).
        msg = render(replace(note, actions=None), now=now, channel_zone=self.config.timezone)
        d = note.deadline
        log.info(
            "alert.console", channel=self.name, kind=note.kind, alert_id=note.key, deadline=d.id,
            lead=note.lead.iso, due=rfc3339(d.due), late_by_seconds=note.late_by_seconds,
            message=msg.summary, text=msg.text,
        )
