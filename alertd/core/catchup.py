"""What to do with alerts whose instant has passed: a pure decision, returned as named reasons.

The same function decides an on-time alert (its instant just passed), a retry that came due, and
the catch-up after downtime, a reload or a wall-clock jump; the rules (docs/ledger.md, README "Operations"):

- while the deadline is still ahead, only the latest passed reminder per deadline and channel is
  sent (marked late when it is); older ones are superseded;
- once the deadline has passed, the at-deadline alert (lead 0) is sent if it is no more than the
  catch-up window late, else missed; reminders are superseded by it (or missed without one);
- a deadline whose due passed before it was ever seen sends nothing;
- a delivery already recorded as final, or being handled by this process, is left alone.

It never reads the clock or the ledger: the caller hands in `now` and what the ledger knows.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from alertd.core.model import Deadline, PlannedAlert
from alertd.core.notification import delivery_key
from alertd.core.planner import alerts_for

__all__ = ["ON_TIME", "Action", "Decision", "Known", "Reason", "decide", "effective_window"]


class Action(StrEnum):
    SEND = "send"  # deliver now
    WAIT = "wait"  # a retry is scheduled later: keep it
    SUPERSEDED = "superseded"
    MISSED = "missed"
    FAILED = "failed"  # attempted before, and now past any use: give up
    SKIP = "skip"  # nothing to do and nothing to record


class Reason(StrEnum):
    DUE_NOW = "due_now"  # the latest alert, on time or late
    RETRY_DUE = "retry_due"
    RETRY_SCHEDULED = "retry_scheduled"
    CRASH_RESEND = "crash_resend"  # left `sending` by a crash: sent again with the same key
    LATER_ALERT = "superseded_by_later_alert"
    DEADLINE_PASSED = "deadline_passed"
    BEYOND_CATCHUP = "beyond_catchup_window"
    NEVER_SEEN = "passed_before_first_seen"
    RECORDED = "already_recorded"
    IN_PROGRESS = "in_progress"


@dataclass(frozen=True, slots=True)
class Known:
    """What the ledger holds for a delivery key."""

    state: str
    next_retry_at: datetime | None = None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    alert: PlannedAlert
    channel: str
    key: str
    action: Action
    reason: Reason

    def late_by(self, now: datetime) -> timedelta:
        return max(now - self.alert.fire_at, timedelta(0))


_FINAL = frozenset({"sent", "failed", "superseded", "missed"})
# An at-deadline alert decided within this of its instant is on time, whatever the catch-up window:
# a midnight with thousands due takes seconds to work through, and `ALERTD_CATCHUP=0` means "no
# catch-up after downtime", not "miss every alert decided a few milliseconds after its instant".
ON_TIME = timedelta(minutes=1)


def effective_window(window: timedelta) -> timedelta:
    """How late an at-deadline alert (or its retries) may still go: the catch-up window, at least ON_TIME."""
    return max(window, ON_TIME)


def decide(
    deadline: Deadline,
    *,
    now: datetime,
    window: timedelta,
    known: Mapping[str, Known],
    first_seen: datetime | None,
    busy: Collection[str] = (),
) -> list[Decision]:
    """Decisions for every alert of `deadline` whose instant is at or before `now`.

    `known` maps delivery keys to what the ledger recorded; `first_seen` is when the deadline
    (with this due) was first seen while ahead, None when never; `busy` are keys this process is
    delivering right now. Alerts still in the future get no decision.
    """
    passed = [a for a in alerts_for(deadline) if a.fire_at <= now]
    out: list[Decision] = []
    for channel in deadline.channels:
        out.extend(_for_channel(deadline, channel, passed, now=now, window=window, known=known,
                                first_seen=first_seen, busy=busy))
    return out


def _for_channel(deadline: Deadline, channel: str, passed: list[PlannedAlert], *, now: datetime,  # noqa: PLR0915 - the rules read best as one story
                 window: timedelta, known: Mapping[str, Known], first_seen: datetime | None,
                 busy: Collection[str]) -> list[Decision]:
    keyed = [(a, delivery_key(deadline.id, a.lead, deadline.due, channel)) for a in passed]
    out: list[Decision] = []

    def put(a: PlannedAlert, key: str, action: Action, reason: Reason) -> None:
        out.append(Decision(a, channel, key, action, reason))

    open_: list[tuple[PlannedAlert, str]] = []
    for a, key in keyed:
        if key in busy:
            put(a, key, Action.SKIP, Reason.IN_PROGRESS)
        elif key in known and known[key].state in _FINAL:
            put(a, key, Action.SKIP, Reason.RECORDED)
        else:
            open_.append((a, key))
    if not open_:
        return out

    def attempted(key: str) -> bool:
        return key in known and known[key].attempts > 0

    def send_or_wait(a: PlannedAlert, key: str) -> None:
        k = known.get(key)
        if k is None or (k.state == "pending" and k.next_retry_at is None):
            put(a, key, Action.SEND, Reason.DUE_NOW)
        elif k.state == "sending":
            put(a, key, Action.SEND, Reason.CRASH_RESEND)
        elif k.next_retry_at is not None and k.next_retry_at > now:
            put(a, key, Action.WAIT, Reason.RETRY_SCHEDULED)
        else:
            put(a, key, Action.SEND, Reason.RETRY_DUE)

    def drop(a: PlannedAlert, key: str, action: Action, reason: Reason) -> None:
        # A delivery that was already tried is a give-up (failed), not a silent supersede.
        if action is Action.MISSED and attempted(key):
            action = Action.FAILED
        put(a, key, action, reason)

    if deadline.due > now:
        # Reminders only (a lead-0 alert fires at the due). The latest instant wins; ties all go.
        latest = max(a.fire_at for a, _ in keyed)
        for a, key in open_:
            if a.fire_at == latest:
                send_or_wait(a, key)
            else:
                drop(a, key, Action.SUPERSEDED, Reason.LATER_ALERT)
        return out

    seen = first_seen is not None and first_seen < deadline.due
    if not seen and not any(key in known for _, key in keyed):
        for a, key in open_:
            put(a, key, Action.SKIP, Reason.NEVER_SEEN)
        return out
    at_due = [(a, key) for a, key in keyed if a.lead.is_zero]
    at_due_goes = False
    for a, key in open_:
        if not a.lead.is_zero:
            continue
        if now - deadline.due <= effective_window(window):
            send_or_wait(a, key)
            at_due_goes = True
        else:
            drop(a, key, Action.MISSED, Reason.BEYOND_CATCHUP)
    if any(key in busy or (key in known and known[key].state == "sent") for _, key in at_due):
        at_due_goes = True
    for a, key in open_:
        if a.lead.is_zero:
            continue
        if at_due_goes:
            drop(a, key, Action.SUPERSEDED, Reason.LATER_ALERT)
        else:
            drop(a, key, Action.MISSED, Reason.DEADLINE_PASSED)
    return out
