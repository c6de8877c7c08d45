"""The time rules: how a written due becomes an instant, and a lead a fire instant.

Everything here is pure: no clock reads, no I/O. Instants are aware UTC datetimes.

- A wall-clock due is read in the deadline's IANA zone. A date alone, or `T24:00`,
  is the END of that local day: the first instant of the next local day.
- A wall time inside a DST gap is shifted forward by the gap (RFC 5545, Temporal
  `compatible`); one that occurs twice takes the earlier instant. Python's PEP 495
  `fold=0` has exactly these semantics, which `resolve` relies on and the tests pin.
  Midnight is the exception: a day whose midnight is skipped starts at the first instant
  that exists on it, which is the end of the gap, not midnight shifted by the gap (they
  differ when the gap straddles midnight: Toronto's clocks went from 23:30 EST on 30 March
  1919 to 00:30 EDT on the 31st, so the 31st started at 00:30 EDT, not 01:00).
- A lead's days are calendar arithmetic on the due AS WRITTEN, then resolved; its
  hours/minutes/seconds are exact elapsed time taken after that. A due written with an
  offset or Z names its own fixed offset, on which a day is always 24 hours.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum
from zoneinfo import ZoneInfo

from alertd.core.leads import Lead

__all__ = [
    "DueError",
    "Resolution",
    "WrittenDue",
    "fire_instant",
    "parse_due",
    "resolve",
]

_DUE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,6}))?)?)?"
    r"(?P<off>Z|z|[+-]\d{2}:\d{2})?"
)


_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)


class DueError(ValueError):
    """Raised for a due that is not a date, a local date-time or an RFC 3339 instant."""


class Resolution(Enum):
    """How a local wall time became an instant."""

    EXACT = "exact"  # the wall time occurs once
    GAP = "gap"  # it does not exist (DST gap, skipped day): shifted forward
    FOLD = "fold"  # it occurs twice: the earlier instant was taken
    SKIPPED_DAY = "skipped_day"  # the end of a date that never happened there (Pacific/Apia, 30 Dec 2011)


@dataclass(frozen=True, slots=True)
class WrittenDue:
    """A due as written: a local wall time, or an exact instant when an offset was given.

    `wall` is the naive local date-time the due names (for a date alone or `24:00`,
    midnight of the next day). `instant` is set only for a due with an offset or Z.
    """

    wall: datetime | None
    instant: datetime | None
    end_of_day: bool


def parse_due(text: str) -> WrittenDue:
    """Parse `2021-05-21`, `2021-05-21T18:00[:SS]`, `... 24:00`, `...Z` or `...+03:00`."""
    stripped = text.strip()
    m = _DUE.fullmatch(stripped)
    if not m:
        raise DueError(
            f"due {text!r} is not a date or date-time: write 2021-05-21 (end of that day), "
            "2021-05-21T18:00 (local) or 2021-05-21T15:00:00Z (exact instant)"
        )
    # The shapes most configs use, read by datetime.fromisoformat (20 times faster) once the
    # pattern above has admitted them; anything it rejects takes the path below for its message.
    off, hour = m["off"], m["h"]
    with contextlib.suppress(ValueError, OverflowError):
        if hour is None and off is None:
            return WrittenDue(wall=datetime.fromisoformat(stripped) + _DAY, instant=None, end_of_day=True)
        if hour is not None and hour != "24":
            if off is None:
                return WrittenDue(wall=datetime.fromisoformat(stripped), instant=None, end_of_day=False)
            if off == "Z":
                return WrittenDue(wall=None, instant=datetime.fromisoformat(stripped), end_of_day=False)
    return _parse_due_slowly(text, m)


def _parse_due_slowly(text: str, m: re.Match[str]) -> WrittenDue:
    try:
        day = date.fromisoformat(m["date"])
    except ValueError as exc:
        raise DueError(f"due {text!r} is not a real date: {exc}") from None
    hour = int(m["h"]) if m["h"] else 24
    minute = int(m["m"] or 0)
    second = int(m["s"] or 0)
    micro = int((m["f"] or "0").ljust(6, "0"))
    end_of_day = hour == 24
    if end_of_day and (minute or second or micro):
        raise DueError(f"due {text!r}: 24:00 is the only time allowed past 23:59")
    try:
        if end_of_day:
            wall = datetime.combine(day + timedelta(days=1), datetime.min.time())
        else:
            wall = datetime(day.year, day.month, day.day, hour, minute, second, micro)  # noqa: DTZ001
    except OverflowError:
        raise DueError(f"due {text!r} is past the last representable day") from None
    except ValueError as exc:
        raise DueError(f"due {text!r} is not a real time: {exc}") from None
    if m["off"]:
        off = m["off"].upper()
        if off == "Z":
            tz = UTC
        else:
            sign = 1 if off[0] == "+" else -1
            hh, mm = int(off[1:3]), int(off[4:6])
            if hh > 23 or mm > 59:
                raise DueError(f"due {text!r} has an impossible UTC offset {off}")
            tz = timezone(sign * timedelta(hours=hh, minutes=mm))
        try:
            instant = wall.replace(tzinfo=tz).astimezone(UTC)
        except OverflowError:
            raise DueError(f"due {text!r} is outside the representable range of instants") from None
        return WrittenDue(wall=None, instant=instant, end_of_day=end_of_day)
    return WrittenDue(wall=wall, instant=None, end_of_day=end_of_day)


def _offset(zone: ZoneInfo, wall: datetime) -> timedelta:
    """The UTC offset of naive `wall` in `zone` (an IANA zone always has one)."""
    offset = zone.utcoffset(wall)
    if offset is None:
        raise ValueError(f"zone {zone} gives no UTC offset for {wall}")
    return offset


def resolve(wall: datetime, zone: ZoneInfo) -> tuple[datetime, Resolution]:
    """The UTC instant of naive local `wall` in `zone`, and how it was resolved.

    PEP 495's fold=0 reads a wall time in a gap with the offset in force before the
    transition (which shifts it forward by the gap) and takes the earlier of two
    instants in a fold: the `compatible` rule of docs/time-rules.md exactly. The two folds'
    offsets also classify the wall time: equal where it occurs once; in a gap the
    earlier (fold=0) offset is the smaller (clocks jump forward), in a fold the larger.
    A skipped midnight is the start of its day: the first instant that exists on it.
    """
    first = _offset(zone, wall)  # a tzinfo reads the wall fields and fold of a naive datetime
    second = _offset(zone, wall.replace(fold=1))
    instant = (wall - first).replace(tzinfo=UTC)
    if first == second:
        return instant, Resolution.EXACT
    if first > second:
        return instant, Resolution.FOLD
    if wall.hour == wall.minute == wall.second == wall.microsecond == 0:
        return _gap_end(wall, zone, first, second), Resolution.GAP
    return instant, Resolution.GAP


def _gap_end(wall: datetime, zone: ZoneInfo, before: timedelta, after: timedelta) -> datetime:
    """The transition that skips naive `wall`: the first instant whose local time is at or after it.

    The instant `wall - after` is earlier than the transition (its local time, read with the
    offset `before`, is before `wall`) and `wall - before` is at or after it; tzdata's
    transitions fall on whole seconds, so halving the span in seconds finds it in at most ~17
    steps for a gap of a day. Gaps that start at midnight (the usual case) take no step.
    """
    hi = (wall - before).replace(tzinfo=UTC)
    if _local(hi - _SECOND, zone) < wall:
        return hi
    lo = (wall - after).replace(tzinfo=UTC)
    lo_s, hi_s = 0, int((hi - lo) / _SECOND)
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if _local(lo + mid * _SECOND, zone) >= wall:
            hi_s = mid
        else:
            lo_s = mid
    return lo + hi_s * _SECOND


def _local(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def due_instant(written: WrittenDue, zone: ZoneInfo) -> tuple[datetime, Resolution]:
    """The UTC instant of a written due, and how its wall time was resolved.

    The end of a date that never happened on the zone's clocks (its whole day was skipped)
    is the start of the next day that did, and is classified `SKIPPED_DAY` so that it is warned
    about: its start and its end are the same instant.
    """
    if written.instant is not None:
        return written.instant, Resolution.EXACT
    if written.wall is None:
        raise ValueError("a written due has a wall time or an instant")
    instant, how = resolve(written.wall, zone)
    if written.end_of_day and how is Resolution.EXACT:
        start = written.wall - _DAY
        # Cheap test first: a skipped day starts in a gap, so its offset differs from the next day's.
        if _offset(zone, start) != _offset(zone, written.wall) and resolve(start, zone)[0] == instant:
            return instant, Resolution.SKIPPED_DAY
    return instant, how


def fire_instant(written: WrittenDue, due: datetime, zone: ZoneInfo, lead: Lead) -> datetime:
    """When an alert `lead` before a due fires.

    Days step back on the wall clock of the due as written, the result is resolved by the
    gap/fold rules, and then the exact seconds are subtracted. A due written with an offset or
    Z is on that fixed offset, where a day is 24 hours, whatever the deadline's zone does.
    """
    if not lead.days:
        return due - timedelta(seconds=lead.seconds) if lead.seconds else due
    wall = written.wall
    if wall is None:
        return due - timedelta(days=lead.days, seconds=lead.seconds)
    wall -= timedelta(days=lead.days)
    offset = _offset(zone, wall)  # fold=0: `resolve`'s instant, without classifying it
    if wall.hour or wall.minute or wall.second or wall.microsecond:
        return (wall - offset - timedelta(seconds=lead.seconds)).replace(tzinfo=UTC)
    start = (wall - offset).replace(tzinfo=UTC)
    # A midnight that does not exist reads back as another time, or (a gap of whole days) another day.
    local = start.astimezone(zone)
    if local.hour or local.minute or local.second or local.day != wall.day:
        start = _gap_end(wall, zone, offset, _offset(zone, wall.replace(fold=1)))
    return start - timedelta(seconds=lead.seconds) if lead.seconds else start
