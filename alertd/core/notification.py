"""What is delivered: one alert (or test) to one channel, with its stable delivery key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from alertd.core.display import rfc3339
from alertd.core.leads import Lead
from alertd.core.links import Actions
from alertd.core.model import Deadline, PlannedAlert
from alertd.core.state import NOTICE_KINDS, Action

__all__ = ["ALERT_KINDS", "Kind", "Notification", "delivery_key", "notice_key"]

Kind = Literal["deadline.reminder", "deadline.due", "deadline.overdue", "deadline.escalation",
               "deadline.acknowledged", "deadline.done", "deadline.snoozed", "alertd.test"]
ALERT_KINDS = ("deadline.reminder", "deadline.due", "deadline.overdue", "deadline.escalation")


def delivery_key(deadline_id: str, lead: Lead, due: datetime, channel: str) -> str:
    """The stable key of one delivery: same deadline, lead, due and channel → same key.

    A changed due is a new alert (new key); the key is what receivers dedupe on (it is
    the webhook `alert_id` and Standard Webhooks `webhook-id`).
    """
    raw = f"{deadline_id}\x1f{lead.iso}\x1f{rfc3339(due)}\x1f{channel}".encode()
    return "alrt_" + hashlib.sha256(raw).hexdigest()[:32]


def notice_key(deadline_id: str, due: datetime, action_id: int, channel: str) -> str:
    """The stable key of one notice: the action (by its store id) about this due, to one channel."""
    raw = f"{deadline_id}\x1fnotice:{action_id}\x1f{rfc3339(due)}\x1f{channel}".encode()
    return "alrt_" + hashlib.sha256(raw).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Notification:
    """One delivery: an alert of `deadline` at `lead`, to the channel called `channel`.

    `scheduled_for` is the instant the alert was planned for; `late_by_seconds` is how
    late this attempt is relative to it (0 when on time), set by the dispatcher. An escalation
    has its `step` (1, 2, ...); a notice (`deadline.acknowledged`, ...) the `action` it tells of,
    its time as `scheduled_for` and a zero lead. `actions` are the signed links (Acknowledge, Snooze,
    Done) an alert carries when a public URL is set; the dispatcher adds them to each attempt.
    """

    kind: Kind
    key: str
    deadline: Deadline
    lead: Lead
    scheduled_for: datetime
    channel: str
    late_by_seconds: int = 0
    step: int = 0
    action: Action | None = None
    actions: Actions | None = None

    @classmethod
    def for_alert(cls, deadline: Deadline, lead: Lead, scheduled_for: datetime, channel: str,
                  late_by_seconds: int = 0) -> Notification:
        return cls(
            kind="deadline.due" if lead.is_zero else "deadline.reminder",
            key=delivery_key(deadline.id, lead, deadline.due, channel),
            deadline=deadline, lead=lead, scheduled_for=scheduled_for, channel=channel,
            late_by_seconds=late_by_seconds,
        )

    @classmethod
    def for_planned(cls, alert: PlannedAlert, channel: str) -> Notification:
        """The delivery of a planned alert (any kind: reminder, due, repeat, escalation) to `channel`."""
        d = alert.deadline
        return cls(kind=alert.kind, key=delivery_key(d.id, alert.lead, d.due, channel),  # type: ignore[arg-type]
                   deadline=d, lead=alert.lead, scheduled_for=alert.fire_at, channel=channel, step=alert.step)

    @classmethod
    def for_notice(cls, deadline: Deadline, action: Action, channel: str) -> Notification:
        """The notice of a recorded ack, snooze or done (`action.id` set) to `channel`."""
        if action.id is None:
            raise ValueError("a notice tells of a recorded action")
        return cls(kind=NOTICE_KINDS[action.act], key=notice_key(deadline.id, deadline.due, action.id, channel),  # type: ignore[arg-type]
                   deadline=deadline, lead=Lead(), scheduled_for=action.at, channel=channel, action=action)

    @property
    def is_notice(self) -> bool:
        return self.action is not None
