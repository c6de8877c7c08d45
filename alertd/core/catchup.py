"""What to do with alerts whose instant has passed: a pure decision, returned as named reasons.

The same function decides an on-time alert (its instant just passed), a retry that came due, and
the catch-up after downtime, a reload, a wall-clock jump or the end of a snooze; the rules
(docs/ledger.md, docs/after-the-due.md, README "Operations"):

- while the deadline is still ahead, only the latest passed reminder per deadline and channel is
  sent (marked late when it is); older ones are superseded;
- once the deadline has passed, the latest passed alert after the due (a repeat or an escalation
  step) per channel goes if it is no more than the catch-up window late, else it is missed;
  without one, the at-deadline alert (lead 0) goes within the window, else missed; everything
  older on that channel is superseded by what goes (or missed when nothing does);
- a deadline whose due passed before it was ever seen sends nothing;
- what people did holds alerts (state.py): done or cancelled, nothing; a running snooze, nothing
  until it ends (then the rules above pick the latest held alert per channel); acknowledged, no
  repeats or steps. A held alert is not recorded, so a reopen or the snooze's end finds it;
  an open delivery (a retry waiting) is closed with the hold as its reason, but a snooze only
  keeps it waiting;
- a delivery already recorded as final, or being handled by this process, is left alone.

It never reads the clock or the ledger: the caller hands in `now`, what the ledger knows and
the deadline's state.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from alertd.core.afterdue import after_due_alert, passed_after_due
from alertd.core.leads import Lead
from alertd.core.model import Deadline, PlannedAlert
from alertd.core.notification import delivery_key
from alertd.core.planner import alerts_for
from alertd.core.state import DeadlineState, Hold, held_by

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
    CHANGED = "deadline_changed"  # an open delivery after the due that the config no longer has
    CANCELLED = "cancelled"  # held (state.Hold): the deadline's config says cancelled
    DONE = "done"
    SNOOZED = "snoozed"
    ACKNOWLEDGED = "acknowledged"


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
    state: DeadlineState | None = None,
    open_after: Iterable[tuple[Lead, str]] = (),
) -> list[Decision]:
    """Decisions for every alert of `deadline` whose instant is at or before `now`.

    `known` maps delivery keys to what the ledger recorded; `first_seen` is when the deadline
    (with this due) was first seen while ahead, None when never; `busy` are keys this process is
    delivering right now; `state` is what people did about this due. Alerts still in the future
    get no decision. Of the repeats only the latest passed one is a candidate; `open_after` names
    the (lead, channel) of deliveries after the due the ledger holds open (a retry waiting), so
    that an older repeat's retry is decided too.
    """
    passed = [a for a in alerts_for(deadline) if a.fire_at <= now]
    passed += passed_after_due(deadline, now)
    out: list[Decision] = []
    extra: dict[str, list[PlannedAlert]] = {}
    for lead, channel in open_after:
        extra.setdefault(channel, []).append(after_due_alert(deadline, lead, channel) or _gone(deadline, lead))
    channels = deadline.all_channels
    for channel in (*channels, *(ch for ch in extra if ch not in channels)):
        mine = [a for a in passed if channel in a.targets]
        for a in extra.get(channel, ()):
            if a.channels == ():  # the config no longer has it: close it
                key = delivery_key(deadline.id, a.lead, deadline.due, channel)
                if key not in busy:
                    out.append(Decision(a, channel, key, Action.SUPERSEDED, Reason.CHANGED))
            elif all(a.lead != b.lead for b in mine):
                mine.append(a)
        out.extend(_for_channel(deadline, channel, mine, now=now, window=window, known=known,
                                first_seen=first_seen, busy=busy, state=state))
    return out


def _gone(deadline: Deadline, lead: Lead) -> PlannedAlert:
    """An alert after the due that the config no longer has (no channels: only to be closed)."""
    return PlannedAlert(deadline, lead, deadline.due - timedelta(seconds=lead.seconds), ())


_HOLD_REASON = {Hold.CANCELLED: Reason.CANCELLED, Hold.DONE: Reason.DONE, Hold.SNOOZED: Reason.SNOOZED,
                Hold.ACKNOWLEDGED: Reason.ACKNOWLEDGED}


def _for_channel(deadline: Deadline, channel: str, passed: list[PlannedAlert], *, now: datetime,  # noqa: PLR0915 - the rules read best as one story
                 window: timedelta, known: Mapping[str, Known], first_seen: datetime | None,
                 busy: Collection[str], state: DeadlineState | None) -> list[Decision]:
    keyed = [(a, delivery_key(deadline.id, a.lead, deadline.due, channel)) for a in passed]
    out: list[Decision] = []

    def put(a: PlannedAlert, key: str, action: Action, reason: Reason) -> None:
        out.append(Decision(a, channel, key, action, reason))

    open_: list[tuple[PlannedAlert, str]] = []
    allowed: list[tuple[PlannedAlert, str]] = []  # what may go: the latest is picked among these
    for a, key in keyed:
        hold = held_by(deadline, state, a, now)
        if key in busy:
            put(a, key, Action.SKIP, Reason.IN_PROGRESS)
        elif key in known and known[key].state in _FINAL:
            put(a, key, Action.SKIP, Reason.RECORDED)
        elif hold is not None:
            # Not recorded: a reopen or the end of a snooze finds it again. An open delivery is
            # closed, unless a snooze holds it: then it waits for the snooze's end.
            closes = key in known and hold is not Hold.SNOOZED
            put(a, key, Action.SUPERSEDED if closes else Action.SKIP, _HOLD_REASON[hold])
            continue
        else:
            open_.append((a, key))
        allowed.append((a, key))
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
        latest = max(a.fire_at for a, _ in allowed)
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
    after = [(a, key) for a, key in allowed if a.lead.is_after_due]
    # What may go: the latest repeat or step when one has passed, else the at-deadline alert.
    if after:
        latest = max(a.fire_at for a, _ in after)
        last = {key for a, key in after if a.fire_at == latest}
    else:
        last = {key for a, key in allowed if a.lead.is_zero}
    goes = any(key in busy or (key in known and known[key].state == "sent") for key in last)
    for a, key in open_:
        if key not in last:
            continue
        if now - a.fire_at <= effective_window(window):
            send_or_wait(a, key)
            goes = True
        else:
            drop(a, key, Action.MISSED, Reason.BEYOND_CATCHUP)
    for a, key in open_:
        if key in last:
            continue
        if goes:
            drop(a, key, Action.SUPERSEDED, Reason.LATER_ALERT)
        elif a.lead.is_after_due or a.lead.is_zero:
            drop(a, key, Action.MISSED, Reason.BEYOND_CATCHUP)
        else:
            drop(a, key, Action.MISSED, Reason.DEADLINE_PASSED)
    return out
