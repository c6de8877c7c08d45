"""The planner: deadlines in, alert instants out. A pure function of its arguments.

It never reads the clock; callers pass the window (`start`, `end`) or `now`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from alertd.model import Deadline, PlannedAlert

__all__ = ["alerts_for", "next_alert", "plan"]


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


def next_alert(deadline: Deadline, *, now: datetime) -> PlannedAlert | None:
    """The first alert of `deadline` firing at or after `now`, or None when all have fired."""
    if deadline.due < now:  # no lead fires after its due
        return None
    best: tuple[datetime, int, int] | None = None
    chosen = None
    for lead in deadline.leads:
        at = deadline.fire_at(lead)
        if at >= now:
            key = (at, -lead.nominal_seconds, -lead.days)
            if best is None or key < best:
                best, chosen = key, lead
    return None if chosen is None or best is None else PlannedAlert(deadline, chosen, best[0])
