"""The planner: deadlines in, alert instants out. A pure function of its arguments.

It never reads the clock; callers pass the window (`start`, `end`) or `now`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from alertd.core.afterdue import after_due_alerts, next_after_due
from alertd.core.leads import Lead
from alertd.core.model import Deadline, PlannedAlert
from alertd.core.state import DeadlineState

__all__ = ["alerts_for", "next_alert", "next_wake", "plan", "reach"]

_TICK = timedelta(microseconds=1)


def alerts_for(deadline: Deadline) -> list[PlannedAlert]:
    """Every reminder of one deadline and its due alert, longest lead first (not the alerts after
    the due: afterdue.py)."""
    return [PlannedAlert(deadline, lead, deadline.fire_at(lead)) for lead in deadline.leads]


def plan(
    deadlines: Iterable[Deadline], *, start: datetime, end: datetime | None = None, repeats: int | None = None
) -> list[PlannedAlert]:
    """The alerts whose fire instant is in [start, end), sorted by instant, deadline, lead.

    `end=None` means no upper bound (repeats and escalation steps are bounded by `repeat_for`).
    Within one instant and deadline, longer leads come first; repeats and steps (negative
    leads) are included, at most `repeats` repeats of each deadline when given (a repeat every
    minute for 30 days is 43,200 alerts). Deadlines whose config status is done or cancelled
    send nothing.
    """
    deadlines = deadlines if isinstance(deadlines, list | tuple) else list(deadlines)
    out = [
        alert
        for deadline in deadlines
        if deadline.status == "open"
        for alert in alerts_for(deadline)
        if alert.fire_at >= start and (end is None or alert.fire_at < end)
    ]
    out += [alert for deadline in deadlines if deadline.after is not None and deadline.status == "open"
            for alert in after_due_alerts(deadline, start=start, end=end, limit=repeats)]
    out.sort(key=lambda a: a.sort_key)
    return out


# A lead's fire instant is within 48 hours of `due - nominal length` (two UTC offsets differ by
# less than 48 hours), so a lead 96 hours or more shorter than another always fires after it.
_CANNOT_OVERTAKE = 4 * 86400


_CANDIDATES: dict[int, tuple[tuple[Lead, ...], timedelta, tuple[Lead, ...]]] = {}


def reach(leads: tuple[Lead, ...]) -> timedelta:
    """How far before its due a deadline's first alert can possibly fire.

    A lead's days are taken on the wall clock and resolved, so the alert may fire up to the
    difference of two UTC offsets earlier than its nominal length: less than 48 hours, since
    every offset is under 24 hours. So no alert fires before `due - reach(leads)`.
    """
    return _first_candidates(leads)[0]


def _first_candidates(leads: tuple[Lead, ...]) -> tuple[timedelta, tuple[Lead, ...]]:
    """`reach(leads)`, and the leads that may fire first when all are still ahead.

    Memoized by identity: deadlines share their leads tuple, and hashing it costs more than this.
    """
    hit = _CANDIDATES.get(id(leads))
    if hit is None or hit[0] is not leads:
        if len(_CANDIDATES) > 4096:
            _CANDIDATES.clear()
        longest = max(lead.nominal_seconds for lead in leads)
        first = tuple(lead for lead in leads if lead.nominal_seconds > longest - _CANNOT_OVERTAKE)
        hit = _CANDIDATES[id(leads)] = (leads, timedelta(seconds=longest, days=2), first)
    return hit[1], hit[2]


def next_alert(deadline: Deadline, *, now: datetime, state: DeadlineState | None = None) -> PlannedAlert | None:
    """The first alert of `deadline` that will be sent at or after `now`, or None when none will.

    With `state`: nothing for a done deadline, nothing before the end of a running snooze (what
    it held goes out when it ends), no repeats or steps once acknowledged.
    """
    if deadline.status != "open" or (state is not None and state.done is not None):
        return None
    if state is not None:
        now = state.snoozed_until(now) or now
    found = _next_reminder(deadline, now)
    if found is None and deadline.after is not None and (state is None or state.acked is None):
        at = next_after_due(deadline, now - _TICK)  # at or after now
        if at is not None:
            found = after_due_alerts(deadline, start=at, end=at + _TICK)[0]
    return found


def next_wake(deadline: Deadline, *, now: datetime, state: DeadlineState | None) -> datetime | None:
    """The first instant after `now` at which the daemon has something to decide for `deadline`:
    its next alert the state lets through, or the end of a running snooze (the held alerts)."""
    if deadline.status != "open" or (state is not None and state.done is not None):
        return None
    if state is not None and (end := state.snoozed_until(now)) is not None:
        return end
    nxt = min((a.fire_at for a in alerts_for(deadline) if a.fire_at > now), default=None)
    if nxt is None and deadline.after is not None and (state is None or state.acked is None):
        nxt = next_after_due(deadline, now)  # every repeat and step comes after every reminder
    return nxt


def _next_reminder(deadline: Deadline, now: datetime) -> PlannedAlert | None:
    if deadline.due < now:  # no lead fires after its due
        return None
    leads = deadline.leads
    span, first = _first_candidates(leads)
    if deadline.due - span >= now:
        leads = first  # every alert is still ahead: only these can be the first
    best: tuple[datetime, int, int] | None = None
    chosen = None
    for lead in leads:
        at = deadline.fire_at(lead)
        if at >= now:
            key = (at, -lead.nominal_seconds, -lead.days)
            if best is None or key < best:
                best, chosen = key, lead
    return None if chosen is None or best is None else PlannedAlert(deadline, chosen, best[0])
