"""What is delivered: one alert (or test) to one channel, with its stable delivery key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from alertd.core.display import rfc3339
from alertd.core.leads import Lead
from alertd.core.model import Deadline

__all__ = ["Kind", "Notification", "delivery_key"]

Kind = Literal["deadline.reminder", "deadline.due", "alertd.test"]


def delivery_key(deadline_id: str, lead: Lead, due: datetime, channel: str) -> str:
    """The stable key of one delivery: same deadline, lead, due and channel → same key.

    A changed due is a new alert (new key); the key is what receivers dedupe on (it is
    the webhook `alert_id` and Standard Webhooks `webhook-id`).
    """
    raw = f"{deadline_id}\x1f{lead.iso}\x1f{rfc3339(due)}\x1f{channel}".encode()
    return "alrt_" + hashlib.sha256(raw).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Notification:
    """One delivery: an alert of `deadline` at `lead`, to the channel called `channel`.

    `scheduled_for` is the instant the alert was planned for; `late_by_seconds` is how
    late this attempt is relative to it (0 when on time), set by the dispatcher.
    """

    kind: Kind
    key: str
    deadline: Deadline
    lead: Lead
    scheduled_for: datetime
    channel: str
    late_by_seconds: int = 0

    @classmethod
    def for_alert(cls, deadline: Deadline, lead: Lead, scheduled_for: datetime, channel: str,
                  late_by_seconds: int = 0) -> Notification:
        return cls(
            kind="deadline.due" if lead.is_zero else "deadline.reminder",
            key=delivery_key(deadline.id, lead, deadline.due, channel),
            deadline=deadline, lead=lead, scheduled_for=scheduled_for, channel=channel,
            late_by_seconds=late_by_seconds,
        )
