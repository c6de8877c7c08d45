"""The console channel: the alert as a log event on standard output."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog

from alertd.channels.base import SendContext
from alertd.display import due_text, rfc3339
from alertd.notification import Notification

__all__ = ["ConsoleSender"]

log = structlog.get_logger("alertd.console")


class ConsoleSender:
    def __init__(self, name: str, config: Any, ctx: SendContext) -> None:
        self.name = name
        self.config = config
        self.ctx = ctx

    async def send(self, note: Notification, *, now: datetime) -> None:
        d = note.deadline
        log.info(
            "alert.console", channel=self.name, alert_id=note.key, deadline=d.id, lead=note.lead.iso,
            title=d.title, due=rfc3339(d.due), due_local=due_text(d), late_by_seconds=note.late_by_seconds,
        )
