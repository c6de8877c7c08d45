"""The planner: deadlines in, alert instants out. A pure function of its arguments.

It never reads the clock; callers pass the window (`start`, `end`) or `now`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from alertd.core.leads import Lead
from alertd.core.model import Deadline, PlannedAlert

__all__ = ["alerts_for", "next_alert", "plan", "reach"]


def alerts_for(deadline: Deadline) -> list[PlannedAlert]:
    """Every alert of one deadline, longest lead first."""
    return [PlannedAlert(deadline, lead, deadline.fire_at(lead)) for lead in deadline.leads]


def plan(
    deadlines: Iterable[Deadline], *, start: datetime, end: datetime | None = None
) -> list[PlannedAlert]:
    """The alerts whose fire instant is in [start, end), sorted by instant, deadline, lead.

    `end=None` means no upper bound. Within one instant and deadline, longer leads
    come first.
    """
    out = [
        alert
        for deadline in deadlines
        for alert in alerts_for(deadline)
        if alert.fire_at >= start and (end is None or alert.fire_at < end)
    ]
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


def next_alert(deadline: Deadline, *, now: datetime) -> PlannedAlert | None:
    """The first alert of `deadline` firing at or after `now`, or None when all have fired."""
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
