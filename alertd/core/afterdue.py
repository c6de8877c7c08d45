"""After the due: repeats and escalation steps, as alerts with negative leads. Pure functions.

A deadline with `repeat: 30m` sends its due alert again 30, 60, 90, ... minutes after the due
(`-PT30M`, `-PT1H`, `-PT1H30M`), up to `repeat_for`; each escalation step once, `after` past the
due, to its own channels. Everything counts elapsed time from the due instant, so a repeat every
hour across a DST change neither sends twice in a repeated hour nor skips one in a gap.

Where a step and a repeat fall on the same instant, a channel the step reaches gets the step
only: one alert per channel and instant, so every delivery key is one alert.

A repeat every 2 s for a day is 43,200 alerts: nothing here lists them all unless asked for a
window (`plan`); the daemon asks only for the latest passed one and the next one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from alertd.core.leads import Lead
from alertd.core.model import Deadline, PlannedAlert

__all__ = ["after_due_alert", "after_due_alerts", "next_after_due", "passed_after_due"]


def _repeat(d: Deadline, k: int) -> PlannedAlert | None:
    """The k-th repeat (k >= 1), None when every channel gets a step at that instant instead."""
    after = d.after
    seconds = k * after.repeat  # type: ignore[union-attr,operator]
    skip = after.step_channels(seconds) if after.steps else frozenset()  # type: ignore[union-attr]
    channels = None
    if skip:
        channels = tuple(ch for ch in d.channels if ch not in skip)
        if not channels:
            return None
    return PlannedAlert(d, Lead.after_due(seconds), d.due + timedelta(seconds=seconds), channels)


def _steps(d: Deadline) -> list[PlannedAlert]:
    return [PlannedAlert(d, Lead.after_due(s.after), d.due + timedelta(seconds=s.after), s.channels, i)
            for i, s in enumerate(d.after.steps, 1)]  # type: ignore[union-attr]


def _count(d: Deadline) -> int:
    """How many repeats the deadline has (0 without repeats)."""
    after = d.after
    if after is None or not after.repeat:
        return 0
    return after.repeat_for // after.repeat


def after_due_alerts(d: Deadline, *, start: datetime | None = None, end: datetime | None = None,
                     limit: int | None = None) -> list[PlannedAlert]:
    """Repeats and steps of `d` firing in [start, end) (None: unbounded), in time order; with
    `limit`, at most that many repeats (the first ones)."""
    if d.after is None:
        return []
    out = [a for a in _steps(d) if (start is None or a.fire_at >= start) and (end is None or a.fire_at < end)]
    n = _count(d)
    if n:
        every = timedelta(seconds=d.after.repeat)  # type: ignore[arg-type]
        first = 1 if start is None else max(1, -((d.due - start) // every))  # ceil((start - due) / every)
        last = n if end is None else min(n, -((d.due - end) // every) - 1)  # the last k with due + k*every < end
        if limit is not None:
            last = min(last, first + limit - 1)
        for k in range(first, last + 1):
            a = _repeat(d, k)
            if a is not None:
                out.append(a)
    out.sort(key=lambda a: a.fire_at)
    return out


def passed_after_due(d: Deadline, now: datetime) -> list[PlannedAlert]:
    """The steps at or before `now`, and the latest repeat at or before `now` (the earlier repeats
    are history: on time they were each the latest once; after downtime only the latest goes)."""
    if d.after is None or d.due >= now:
        return []
    out = [a for a in _steps(d) if a.fire_at <= now]
    n = _count(d)
    if n:
        k = min(n, (now - d.due) // timedelta(seconds=d.after.repeat))  # type: ignore[arg-type]
        while k >= 1:  # a repeat fully replaced by steps: the one before it is the latest repeat
            a = _repeat(d, k)
            if a is not None:
                out.append(a)
                break
            k -= 1
    return out


def next_after_due(d: Deadline, now: datetime) -> datetime | None:
    """The first instant after `now` at which a repeat or a step of `d` fires, or None."""
    if d.after is None:
        return None
    times = [d.due + timedelta(seconds=s.after) for s in d.after.steps]
    best = min((t for t in times if t > now), default=None)
    n = _count(d)
    if n:
        every = timedelta(seconds=d.after.repeat)  # type: ignore[arg-type]
        k = max(1, (now - d.due) // every + 1)
        if k <= n:
            at = d.due + k * every
            best = at if best is None else min(best, at)
    return best


def after_due_alert(d: Deadline, lead: Lead, channel: str) -> PlannedAlert | None:
    """The alert a recorded delivery (negative `lead`, `channel`) is, in `d` as configured now;
    None when the config no longer has it (repeat or steps changed)."""
    if d.after is None or not lead.is_after_due or lead.days:
        return None
    seconds = -lead.seconds
    for i, s in enumerate(d.after.steps, 1):
        if s.after == seconds and channel in s.channels:
            return PlannedAlert(d, lead, d.due + timedelta(seconds=seconds), s.channels, i)
    every = d.after.repeat
    if every and seconds % every == 0 and seconds // every <= _count(d) and channel in d.channels:
        a = _repeat(d, seconds // every)
        if a is not None and channel in a.targets:
            return a
    return None
