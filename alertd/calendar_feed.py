"""An iCalendar (RFC 5545) feed of deadlines: one VEVENT each, one VALARM per lead. Pure.

`feed(deadlines, *, now)` returns the whole VCALENDAR as text with CRLF line endings,
lines folded at 75 octets. It reads no clock (`now` is the DTSTAMP) and does no I/O.

- UID is `<deadline id>@alertd`: stable across runs and reloads, so a subscribed
  calendar updates an event in place when its due or title changes.
- DTSTART is the due instant in UTC (no VTIMEZONE needed; clients show it in their own
  zone). There is no DTEND: RFC 5545 §3.6.1 makes such an event end at its start,
  which is what a deadline is; TRANSP:TRANSPARENT keeps it from blocking time.
- Each VALARM's TRIGGER is relative to the start and EXACT: the elapsed time from
  the alert's fire instant to the due. Usually that is the lead itself (`-P7D`,
  `-PT6H`, `PT0S`); across a DST change a `7d` lead is calendar days on the
  deadline's wall clock, so it reads e.g. `-P6DT23H`, and the calendar rings when
  alertd fires, not an hour off.

`alertd/ics.py` (the per-deadline email attachment) is written in parallel; the two
are meant to be unified into one module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from alertd import __version__
from alertd.display import due_text, humanize_seconds
from alertd.model import Deadline

__all__ = ["escape_text", "feed", "fold", "trigger"]

CRLF = "\r\n"
_LINE_OCTETS = 75
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # TEXT allows HTAB but no other control character
_URI_UNSAFE = re.compile(r"[\x00-\x20\x7f\"<>\\^`{|}]")
REFRESH = "PT1H"  # how often a subscribed client should re-fetch the feed


def escape_text(value: str) -> str:
    r"""RFC 5545 §3.3.11 TEXT: backslash, `;` and `,` escaped, any newline as `\n`."""
    value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))  # keeps \n and \t
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold one content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 sequence."""
    if len(line.encode("utf-8")) <= _LINE_OCTETS:
        return line
    parts: list[str] = []
    current, size, limit = [], 0, _LINE_OCTETS
    for char in line:
        n = len(char.encode("utf-8"))
        if size + n > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, _LINE_OCTETS - 1  # a continuation starts with one space
        current.append(char)
        size += n
    parts.append("".join(current))
    return (CRLF + " ").join(parts)


def utc_stamp(instant: datetime) -> str:
    """`20210521T210000Z` (DATE-TIME in UTC; fractions of a second are dropped)."""
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def duration(seconds: int) -> str:
    """An RFC 5545 DURATION of exact elapsed seconds: `-P7D`, `-PT6H`, `-P6DT23H`, `PT0S`."""
    if seconds == 0:
        return "PT0S"
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = sign + "P" + (f"{days}D" if days else "")
    if hours or minutes or secs:
        text += "T" + "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return text


def trigger(deadline: Deadline, fire_at: datetime) -> str:
    """The TRIGGER value, relative to DTSTART (the due), that rings at `fire_at` exactly."""
    return duration(round((fire_at - deadline.due).total_seconds()))


def _alarm(deadline: Deadline, lead_seconds: int, fire_at: datetime) -> list[str]:
    when = "due now" if lead_seconds == 0 else f"in {humanize_seconds(lead_seconds)}"
    return [
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{escape_text(f'{when}: {deadline.title}')}",
        f"TRIGGER:{trigger(deadline, fire_at)}",
        "END:VALARM",
    ]


def _description(deadline: Deadline) -> str:
    lines = [f"Due {due_text(deadline)} ({deadline.timezone})."]
    if deadline.notes:
        lines += ["", deadline.notes]
    if deadline.links:
        lines += ["", *deadline.links]
    return "\n".join(lines)


def _event(deadline: Deadline, stamp: str) -> list[str]:
    out = [
        "BEGIN:VEVENT",
        f"UID:{escape_text(deadline.id)}@alertd",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{utc_stamp(deadline.due)}",
        f"SUMMARY:{escape_text(deadline.title)}",
        f"DESCRIPTION:{escape_text(_description(deadline))}",
        "TRANSP:TRANSPARENT",
        "STATUS:CONFIRMED",
    ]
    if deadline.links and not _URI_UNSAFE.search(deadline.links[0]):
        out.append(f"URL:{deadline.links[0]}")
    if deadline.tags:
        out.append("CATEGORIES:" + ",".join(escape_text(t) for t in deadline.tags))
    for lead in deadline.leads:
        out += _alarm(deadline, lead.nominal_seconds, deadline.fire_at(lead))
    out.append("END:VEVENT")
    return out


def feed(deadlines: Iterable[Deadline], *, now: datetime, name: str = "alertd deadlines",
         redact: Callable[[str], str] = str) -> str:
    """The VCALENDAR of `deadlines` (in due order, then id), stamped `now`; CRLF line endings.

    `redact` is applied to each content line before it is folded (a secret split across
    a fold could not be found afterwards).
    """
    stamp = utc_stamp(now)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//alertd//alertd {__version__}//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"NAME:{escape_text(name)}",
        f"X-WR-CALNAME:{escape_text(name)}",
        f"REFRESH-INTERVAL;VALUE=DURATION:{REFRESH}",
        f"X-PUBLISHED-TTL:{REFRESH}",
    ]
    for deadline in sorted(deadlines, key=lambda d: (d.due, d.id)):
        lines += _event(deadline, stamp)
    lines.append("END:VCALENDAR")
    return "".join(fold(redact(line)) + CRLF for line in lines)
