"""How instants, durations and config text are written for people and for JSON. Pure functions."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo

from alertd.core.model import Deadline

__all__ = ["due_local", "due_text", "humanize_seconds", "printable", "rfc3339", "rfc3339_seconds", "when_text"]

_ONE_US = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - naive on purpose: the origin for wall clock times
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
# English names, as strftime's %a and %b give them in the C locale alertd runs in; tables are
# several times faster than strftime, which `check` and `plan` call 100,000s of times.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _day(d: date) -> str:
    """`Fri 21 May 2021`."""
    return f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]} {d.year:04d}"


def rfc3339(instant: datetime) -> str:
    """`2021-05-20T21:00:00Z`: UTC with Z, whole seconds unless the instant has a fraction."""
    utc = instant if instant.tzinfo is UTC else instant.astimezone(UTC)
    text = utc.isoformat(timespec="seconds")[:19]  # without "+00:00" (the year always has 4 digits)
    if utc.microsecond:
        frac = f"{utc.microsecond:06d}"
        text += "." + (frac[:3] if frac.endswith("000") else frac)
    return text + "Z"


def rfc3339_seconds(instant: datetime) -> str:
    """`2026-12-02T02:30:42Z`: an instant for a person to read, in whole seconds (the fraction of a
    clock reading is noise there; JSON keeps it, see `rfc3339`)."""
    return rfc3339(instant.replace(microsecond=0))


def when_text(instant: datetime, zone: tzinfo, *, end_of_day: bool = False) -> str:
    """`Fri 21 May 2021, 18:00 MSK`; an end of day as `Fri 21 May 2021, 24:00 MSK`.

    The abbreviation is always the one in force at `instant`, so the text names that instant.
    """
    local = instant.astimezone(zone)
    clock = (local.hour, local.minute, local.second, local.microsecond)
    if end_of_day and clock == (0, 0, 0, 0):
        return f"{_day(local.date() - _ONE_DAY)}, 24:00 {local.tzname()}"
    text = f"{local.hour:02d}:{local.minute:02d}" + (f":{local.second:02d}" if local.second else "")
    return f"{_day(local)}, {text} {local.tzname()}"


def due_text(deadline: Deadline, zone: tzinfo | None = None) -> str:
    """The due in `zone` (default: the deadline's own), end of day kept as 24:00 of its day.

    In the deadline's own zone an end-of-day due reads as 24:00 of the written date, with the
    abbreviation of the offset that makes that text name the due's instant: the one in force at
    the instant (Apia's skipped 30 Dec 2011 ended at `24:00 +14`), else the one just before it
    (Havana's 13 March 2021 ended at `24:00 CST`, which was 01:00 CDT on the 14th). Where no
    clock of the zone ever read 24:00 of that date at that instant (a gap that straddles
    midnight), the due is shown on the clock in force at the instant.
    """
    own = zone is None or getattr(zone, "key", None) == deadline.timezone
    zone = deadline.zone if zone is None else zone
    written = deadline.written
    if own and written.end_of_day and written.wall is not None:
        needed = (written.wall - _EPOCH) - (deadline.due - _EPOCH_UTC)  # the UTC offset "24:00" would need
        for probe in (deadline.due, deadline.due - _ONE_US):
            local = probe.astimezone(zone)
            if local.utcoffset() == needed:
                return f"{_day(written.wall - _ONE_DAY)}, 24:00 {local.tzname()}"
        return when_text(deadline.due, zone)
    return when_text(deadline.due, zone, end_of_day=written.end_of_day)


def due_local(deadline: Deadline) -> str:
    """The due as a local ISO date-time in its zone: `2021-05-21T24:00`, `2021-11-07T01:30`."""
    written = deadline.written
    if written.end_of_day and written.wall is not None:
        return f"{(written.wall - _ONE_DAY).date().isoformat()}T24:00"
    local = deadline.due.astimezone(deadline.zone)
    if written.end_of_day and not (local.hour or local.minute or local.second or local.microsecond):
        return f"{(local.date() - _ONE_DAY).isoformat()}T24:00"  # `2021-05-21+03:00`, shown at +03:00 too
    return local.replace(tzinfo=None).isoformat(timespec="seconds" if local.second else "minutes")


def humanize_seconds(seconds: float) -> str:
    """A rounded span: `45 s`, `3 min`, `6 h`, `1 h 30 min`, `2 days`, `1 day 12 h`."""
    s = round(abs(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h} h" + (f" {m} min" if m else "")
    d, h = divmod(s // 3600, 24)
    return f"{d} day{'s' if d != 1 else ''}" + (f" {h} h" if h else "")


# What a terminal acts on instead of showing: C0 and C1 controls and DEL (a CR or LF starts a
# fake line, ESC starts a sequence), the Unicode line and paragraph separators, and the
# bidirectional embeddings, overrides, isolates and marks that reorder what follows them.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match[str]) -> str:
    char = m.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def printable(text: str) -> str:
    """`text` safe for one line of a terminal: what the terminal would act on is written as an
    escape (`\\n`, `\\x1b`, `\\u202e`). For human-readable output; JSON escapes by itself."""
    return _UNPRINTABLE.sub(_escape, text) if _UNPRINTABLE.search(text) else text
