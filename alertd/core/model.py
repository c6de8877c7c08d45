"""The resolved domain: deadlines with their instants, and the alerts planned for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from alertd.core.leads import Lead
from alertd.core.timerules import Resolution, WrittenDue, fire_instant
from alertd.core.zones import get_zone

__all__ = ["Deadline", "PlannedAlert", "Source"]


@dataclass(frozen=True, slots=True)
class Source:
    """Where something was defined: a config file and, when the parser can tell, a line."""

    path: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


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

    @property
    def zone(self) -> ZoneInfo:
        return get_zone(self.timezone)

    def fire_at(self, lead: Lead) -> datetime:
        """The instant the alert `lead` before this deadline fires (pure)."""
        return fire_instant(self.written, self.due, self.zone, lead)


class PlannedAlert(NamedTuple):
    """One alert: a deadline, a lead and the instant it fires, for all the deadline's channels.

    A NamedTuple rather than a frozen dataclass: the daemon plans 500,000 of these at
    start-up with 100,000 deadlines, and a frozen dataclass costs several times more to build.
    """

    deadline: Deadline
    lead: Lead
    fire_at: datetime  # aware, UTC

    @property
    def sort_key(self) -> tuple[datetime, str, int, int]:
        """Instant, deadline, then the longer lead first (1d before 24h: the calendar day first)."""
        return (self.fire_at, self.deadline.id, -self.lead.nominal_seconds, -self.lead.days)
