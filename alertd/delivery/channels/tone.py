"""How loud a notification is, for the services that have a notion of it (priority, colour, severity).

Senders dispatch on `note.kind` as a string, so kinds added later (repeats, escalation
steps, the acknowledge/done/snooze notices) get their tone without a change here:

    alertd.test                                        test
    deadline.reminder, due more than a day away        reminder
    deadline.reminder, due within a day                soon
    deadline.due                                       due
    deadline.overdue (a repeat after the due)          overdue
    deadline.escalation                                escalation
    deadline.acknowledged / .done / .snoozed           notice
    any other kind                                     reminder
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Literal

from alertd.core.notification import Notification

__all__ = ["ACTION_LABELS", "NOTICE_KINDS", "Tone", "action_links", "tone"]

Tone = Literal["test", "reminder", "soon", "due", "overdue", "escalation", "notice"]

NOTICE_KINDS = frozenset({"deadline.acknowledged", "deadline.done", "deadline.snoozed"})
_FIXED: dict[str, Tone] = {"alertd.test": "test", "deadline.due": "due", "deadline.overdue": "overdue",
                           "deadline.escalation": "escalation"}
_SOON = timedelta(days=1)

# The buttons a message offers where the service has buttons, in this order.
ACTION_LABELS = {"ack": "Acknowledge", "snooze": "Snooze 1 h", "done": "Done"}


def tone(note: Notification, *, now: datetime) -> Tone:
    """The tone of `note` sent at `now`; a reminder's is measured from `now`, so a late one is louder."""
    kind = str(note.kind)
    if kind in NOTICE_KINDS:
        return "notice"
    fixed = _FIXED.get(kind)
    if fixed is not None:
        return fixed
    return "reminder" if note.deadline.due - now >= _SOON else "soon"


def action_links(note: Notification) -> Mapping[str, str]:
    """The acknowledge / snooze / done links of `note`, keyed like ACTION_LABELS; empty when it has
    none (no ALERTD_PUBLIC_URL, a notice, a test). Each opens the signed page `/a/TOKEN` with the
    action chosen (`?do=ack`); a POST to it acts (ntfy's buttons do that)."""
    actions = note.actions
    if actions is None:
        return {}
    return {"ack": actions.ack, "snooze": actions.snooze, "done": actions.done}
