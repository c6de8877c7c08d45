"""The time rules: how a written due becomes an instant, and a lead a fire instant.

Everything here is pure: no clock reads, no I/O. Instants are aware UTC datetimes.

- A wall-clock due is read in the deadline's IANA zone. A date alone, or `T24:00`,
  is the END of that local day: the first instant of the next local day.
- A wall time inside a DST gap is shifted forward by the gap (RFC 5545, Temporal
  `compatible`); one that occurs twice takes the earlier instant. Python's PEP 495
  `fold=0` has exactly these semantics, which `resolve` relies on and the tests pin.
- A lead's days are calendar arithmetic on the due AS WRITTEN, then resolved; its
  hours/minutes/seconds are exact elapsed time taken after that.
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


class DueError(ValueError):
    """Raised for a due that is not a date, a local date-time or an RFC 3339 instant."""


class Resolution(Enum):
    """How a local wall time became an instant."""

    EXACT = "exact"  # the wall time occurs once
    GAP = "gap"  # it does not exist (DST gap, skipped day): shifted forward
    FOLD = "fold"  # it occurs twice: the earlier instant was taken


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
    """
    first = _offset(zone, wall)  # a tzinfo reads the wall fields and fold of a naive datetime
    second = _offset(zone, wall.replace(fold=1))
    instant = (wall - first).replace(tzinfo=UTC)
    if first == second:
        return instant, Resolution.EXACT
    return instant, Resolution.GAP if first < second else Resolution.FOLD


def due_instant(written: WrittenDue, zone: ZoneInfo) -> tuple[datetime, Resolution]:
    """The UTC instant of a written due, and how its wall time was resolved."""
    if written.instant is not None:
        return written.instant, Resolution.EXACT
    if written.wall is None:
        raise ValueError("a written due has a wall time or an instant")
    return resolve(written.wall, zone)


def fire_instant(written: WrittenDue, due: datetime, zone: ZoneInfo, lead: Lead) -> datetime:
    """When an alert `lead` before a due fires.

    Days step back on the wall clock of the due as written (for an exact instant, its
    wall clock in `zone`), the result is resolved by the gap/fold rules, and then the
    exact seconds are subtracted.
    """
    if not lead.days:
        return due - timedelta(seconds=lead.seconds) if lead.seconds else due
    wall = written.wall if written.wall is not None else due.astimezone(zone).replace(tzinfo=None)
    wall -= timedelta(days=lead.days)
    offset = _offset(zone, wall)  # fold=0: `resolve`'s instant, without classifying it
    return (wall - offset - timedelta(seconds=lead.seconds)).replace(tzinfo=UTC)
