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
    upcoming = [a for a in alerts_for(deadline) if a.fire_at >= now]
    return min(upcoming, key=lambda a: a.sort_key) if upcoming else None
