"""What people did about a deadline's due: acknowledged, snoozed, done, reopened. Pure values.

An `Action` is one command (`alertd ack ID`, ...) as recorded: who, when, a note, a snooze's end.
A `DeadlineState` is what the actions add up to for one deadline AND due: the ack, the snooze
and the done in force. State belongs to a due: a deadline whose due changes starts afresh.
`apply` decides whether an action changes anything (a second `ack` does not: two racing acks make
one record); `Condition` is the one word `status` shows; `held_by` is why an alert is not sent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from alertd.core.model import Deadline, PlannedAlert

__all__ = ["NOTICE_KINDS", "Act", "Action", "Condition", "DeadlineState", "Hold", "condition", "held_by"]


class Act(StrEnum):
    ACK = "ack"
    SNOOZE = "snooze"
    DONE = "done"
    REOPEN = "reopen"


# The notice each action sends to the channels that got a repeat or escalation for that due.
NOTICE_KINDS = {Act.ACK: "deadline.acknowledged", Act.DONE: "deadline.done", Act.SNOOZE: "deadline.snoozed"}


@dataclass(frozen=True, slots=True)
class Action:
    """One command about a deadline's due. `id` is the store's sequence number once recorded."""

    deadline_id: str
    due: datetime
    act: Act
    by: str
    at: datetime
    note: str | None = None
    until: datetime | None = None  # a snooze's end
    id: int | None = None


@dataclass(frozen=True, slots=True)
class DeadlineState:
    """The actions in force for one deadline and due (each None when not in force)."""

    acked: Action | None = None
    snoozed: Action | None = None
    done: Action | None = None

    @property
    def empty(self) -> bool:
        return self.acked is None and self.snoozed is None and self.done is None

    def snoozed_until(self, now: datetime) -> datetime | None:
        """The end of a snooze still running at `now`, else None."""
        s = self.snoozed
        return s.until if s is not None and s.until is not None and s.until > now else None

    def apply(self, action: Action) -> DeadlineState | None:
        """The state after `action`, or None when it changes nothing (already acknowledged, ...)."""
        if action.act is Act.ACK:
            return None if self.acked is not None or self.done is not None else replace(self, acked=action)
        if action.act is Act.SNOOZE:
            if self.done is not None or (self.snoozed is not None and self.snoozed.until == action.until):
                return None
            return replace(self, snoozed=action)
        if action.act is Act.DONE:
            return None if self.done is not None else replace(self, done=action)
        return None if self.empty else DeadlineState()  # reopen: undo ack, snooze and done


class Hold(StrEnum):
    """Why an alert is not sent (the ledger's `reason` when an open delivery is closed for it)."""

    CANCELLED = "cancelled"
    DONE = "done"
    SNOOZED = "snoozed"
    ACKNOWLEDGED = "acknowledged"


def held_by(deadline: Deadline, state: DeadlineState | None, alert: PlannedAlert, now: datetime) -> Hold | None:
    """Why `alert` must not go out at `now`, or None when it may.

    Done or cancelled (in the config or by `alertd done`): nothing. A running snooze: nothing
    until it ends. Acknowledged: no repeats and no escalation steps (reminders and the due alert
    still come: an ack before the due is allowed).
    """
    if deadline.status == "cancelled":
        return Hold.CANCELLED
    if deadline.status == "done" or (state is not None and state.done is not None):
        return Hold.DONE
    if state is None:
        return None
    if state.snoozed_until(now) is not None:
        return Hold.SNOOZED
    if state.acked is not None and alert.lead.is_after_due:
        return Hold.ACKNOWLEDGED
    return None


class Condition(StrEnum):
    """The one word `alertd status` shows for a deadline."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    DONE = "done"
    CANCELLED = "cancelled"
    OVERDUE = "overdue"


def condition(deadline: Deadline, state: DeadlineState | None, now: datetime) -> Condition:
    """Cancelled, done, snoozed, acknowledged, overdue (due passed, nobody acted) or open."""
    if deadline.status == "cancelled":
        return Condition.CANCELLED
    if deadline.status == "done" or (state is not None and state.done is not None):
        return Condition.DONE
    if state is not None and state.snoozed_until(now) is not None:
        return Condition.SNOOZED
    if state is not None and state.acked is not None:
        return Condition.ACKNOWLEDGED
    return Condition.OVERDUE if deadline.due <= now else Condition.OPEN
