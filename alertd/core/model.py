"""The resolved domain: deadlines with their instants, and the alerts planned for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from alertd.core.leads import Lead
from alertd.core.timerules import Resolution, WrittenDue, fire_instant
from alertd.core.zones import get_zone

__all__ = ["STATUSES", "AfterDue", "Deadline", "PlannedAlert", "Source", "Step"]

STATUSES = ("open", "done", "cancelled")  # a deadline's `status` in its config


@dataclass(frozen=True, slots=True)
class Source:
    """Where something was defined: a config file and, when the parser can tell, a line."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True, slots=True)
class Step:
    """An escalation step: one alert to `channels`, `after` seconds past the due."""

    after: int  # elapsed seconds, > 0
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AfterDue:
    """What a deadline sends after its due while nobody acknowledged it.

    Every `repeat` seconds (None: no repeats) the due alert again, for at most `repeat_for`
    seconds after the due; each escalation step once. All elapsed time (a stopwatch from the due).
    Deadlines with the same settings share one object.
    """

    repeat: int | None
    repeat_for: int
    steps: tuple[Step, ...] = ()

    def step_channels(self, after: int) -> frozenset[str]:
        """The channels an escalation step reaches at `after` seconds (a repeat there skips them)."""
        return frozenset(ch for s in self.steps if s.after == after for ch in s.channels)


@dataclass(frozen=True, slots=True)
class Deadline:
    """A validated deadline: its due as written, the instant it resolves to, and its leads."""

    id: str
    title: str
    timezone: str
    written: WrittenDue
    due: datetime  # aware, UTC
    leads: tuple[Lead, ...]
    channels: tuple[str, ...]
    resolution: Resolution = Resolution.EXACT
    notes: str | None = None
    links: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    # Where it was written is not part of what it is: moving a deadline within its files changes nothing.
    source: Source = field(default_factory=lambda: Source("<memory>"), compare=False)
    status: str = "open"  # one of STATUSES: done and cancelled send nothing more
    after: AfterDue | None = None  # repeats and escalation after the due

    @property
    def zone(self) -> ZoneInfo:
        return get_zone(self.timezone)

    @property
    def all_channels(self) -> tuple[str, ...]:
        """Its channels, then those only its escalation steps reach."""
        if self.after is None or not self.after.steps:
            return self.channels
        out = list(self.channels)
        for step in self.after.steps:
            out += [ch for ch in step.channels if ch not in out]
        return tuple(out)

    def fire_at(self, lead: Lead) -> datetime:
        """The instant the alert `lead` before this deadline fires (pure)."""
        return fire_instant(self.written, self.due, self.zone, lead)


class PlannedAlert(NamedTuple):
    """One alert: a deadline, a lead and the instant it fires, for all the deadline's channels.

    A NamedTuple rather than a frozen dataclass: the daemon plans 500,000 of these at
    start-up with 100,000 deadlines, and a frozen dataclass costs several times more to build.
    After the due (negative lead) an alert may go to other channels (`channels`: an escalation
    step's, or a repeat's without the channels a step reaches at the same time); `step` is the
    escalation step's number (1, 2, ...), 0 for every other alert.
    """

    deadline: Deadline
    lead: Lead
    fire_at: datetime  # aware, UTC
    channels: tuple[str, ...] | None = None  # None: the deadline's channels
    step: int = 0

    @property
    def targets(self) -> tuple[str, ...]:
        return self.deadline.channels if self.channels is None else self.channels

    @property
    def kind(self) -> str:
        """`deadline.reminder`, `deadline.due`, `deadline.overdue` (a repeat) or `deadline.escalation`."""
        if self.step:
            return "deadline.escalation"
        if self.lead.is_after_due:
            return "deadline.overdue"
        return "deadline.due" if self.lead.is_zero else "deadline.reminder"

    @property
    def sort_key(self) -> tuple[datetime, str, int, int]:
        """Instant, deadline, then the longer lead first (1d before 24h: the calendar day first)."""
        return (self.fire_at, self.deadline.id, -self.lead.nominal_seconds, -self.lead.days)
