"""iCalendar (RFC 5545) text for deadlines: one VEVENT, or a VCALENDAR of many. Pure functions.

Deadlines and `now` in, text out: no clock reads, no I/O. Instants are written in
UTC (`DTSTART:20210521T210000Z`), so no VTIMEZONE is needed and every calendar
shows the same instant alertd alerts on; the zone and local wording go in the
description. Alarm triggers are durations relative to the start (the form every
client supports), each the exact elapsed time from alertd's own fire instant to the
due, so a calendar reminds at exactly the instants `alertd plan` lists even where a
DST change makes a 7-day lead 6 days 23 hours long.

A cancelled deadline is `STATUS:CANCELLED` (calendars strike it through); a done one (in its
config or by `alertd done`) stays `STATUS:CONFIRMED` with "Done:" before its title and who
marked it in the description. Neither has alarms: nothing more is sent for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from alertd.core.display import due_text, rfc3339
from alertd.core.leads import Lead
from alertd.core.message import lead_words
from alertd.core.model import Deadline
from alertd.core.state import Condition, DeadlineState, condition

__all__ = ["build_calendar", "build_event", "duration", "escape_text", "fold"]

PRODID = "-//alertd//alertd deadline alerts//EN"
_FOLD_OCTETS = 75  # RFC 5545 §3.1: lines longer than 75 octets SHOULD be folded
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # TEXT allows HTAB but no other control character


def escape_text(text: str) -> str:
    """RFC 5545 §3.3.11 TEXT escaping: backslash, semicolon, comma and newlines; controls dropped."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """One content line folded at 75 octets (CRLF + space), never inside a UTF-8 character."""
    out: list[str] = []
    chunk, size, limit = "", 0, _FOLD_OCTETS
    for char in line:
        n = len(char.encode("utf-8"))
        if size + n > limit:
            out.append(chunk)
            chunk, size, limit = "", 0, _FOLD_OCTETS - 1  # continuation lines start with a space
        chunk += char
        size += n
    out.append(chunk)
    return "\r\n ".join(out)


def _stamp(instant: datetime) -> str:
    """`20210521T210000Z`. Not strftime: its %Y writes the year 1 as `1`, and RFC 5545 wants four digits."""
    u = instant.astimezone(UTC)
    return f"{u.year:04d}{u.month:02d}{u.day:02d}T{u.hour:02d}{u.minute:02d}{u.second:02d}Z"


def uid(deadline: Deadline) -> str:
    """Stable for a deadline and its due: a changed due is a new event, like a new alert."""
    return f"{deadline.id}-{_stamp(deadline.due)}@alertd"


def _event_lines(deadline: Deadline, *, now: datetime, alarms: bool, state: DeadlineState | None = None) -> list[str]:
    word = condition(deadline, state, now)
    finished = word in (Condition.DONE, Condition.CANCELLED)
    own, utc = due_text(deadline), due_text(deadline, UTC)
    description = [f"Due {own} ({deadline.timezone})"] + ([f"= {utc}"] if utc != own else [])
    if word is Condition.DONE:
        done = state.done if state is not None else None
        description += ["", f"Done (marked by {done.by} at {rfc3339(done.at)})" if done else "Done (in its config)"]
    elif word is Condition.CANCELLED:
        description += ["", "Cancelled"]
    if deadline.notes:
        description += ["", deadline.notes.strip()]
    if deadline.links:
        description += ["", *deadline.links]
    lines = [
        "BEGIN:VEVENT",
        f"UID:{escape_text(uid(deadline))}",
        f"DTSTAMP:{_stamp(now)}",
        f"DTSTART:{_stamp(deadline.due)}",
        f"SUMMARY:{escape_text(_SUMMARY.get(word, '') + deadline.title)}",
        f"DESCRIPTION:{escape_text(chr(10).join(description))}",
        "TRANSP:TRANSPARENT",  # a deadline is a moment, not time the reader is busy
        # RFC 5545 §3.8.1.11: a VEVENT is TENTATIVE, CONFIRMED or CANCELLED (COMPLETED is for to-dos)
        f"STATUS:{'CANCELLED' if word is Condition.CANCELLED else 'CONFIRMED'}",
    ]
    if deadline.links:
        lines.append("URL:" + "".join(deadline.links[0].split()))  # a URI value has no escaping: drop CR/LF
    if deadline.tags:
        lines.append("CATEGORIES:" + ",".join(escape_text(t) for t in deadline.tags))
    if alarms and not finished:
        for lead in deadline.leads:
            lines += _alarm(deadline, lead)
    lines.append("END:VEVENT")
    return lines


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


def _alarm(deadline: Deadline, lead: Lead) -> list[str]:
    when = "due now" if lead.is_zero else f"due in {lead_words(lead)}"
    return [
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"TRIGGER:{duration(round((deadline.fire_at(lead) - deadline.due).total_seconds()))}",
        f"DESCRIPTION:{escape_text(f'{deadline.title} ({when})')}",
        "END:VALARM",
    ]


_SUMMARY = {Condition.DONE: "Done: ", Condition.CANCELLED: "Cancelled: "}


def _join(lines: list[str], redact: Callable[[str], str] = str) -> str:
    return "".join(fold(redact(line)) + "\r\n" for line in lines)


def build_event(deadline: Deadline, *, now: datetime, alarms: bool = False) -> str:
    """One VEVENT (folded, CRLF line ends) for `deadline`; `now` is its DTSTAMP."""
    return _join(_event_lines(deadline, now=now, alarms=alarms))


def build_calendar(deadlines: Iterable[Deadline], *, now: datetime, alarms: bool = True,
                   method: str | None = "PUBLISH", redact: Callable[[str], str] = str,
                   states: Mapping[str, DeadlineState] | None = None) -> str:
    """A VCALENDAR holding a VEVENT per deadline, with a VALARM per lead when `alarms`.

    `redact` is applied to every content line before folding (secrets in notes/links); `states`
    (by deadline id) marks the deadlines done with `alertd done`.
    """
    states = states or {}
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    if method:
        lines.append(f"METHOD:{method}")
    events = 0
    for deadline in deadlines:
        lines += _event_lines(deadline, now=now, alarms=alarms, state=states.get(deadline.id))
        events += 1
    if not events:
        lines += _EMPTY
    lines.append("END:VCALENDAR")
    return _join(lines, redact)


# RFC 5545 §3.4 and §3.6: an iCalendar object holds at least one calendar component. A feed with
# no deadline holds the definition of UTC, the zone its instants are written in: a component
# every client knows and none displays (an empty VCALENDAR is refused by strict readers, such as
# the `icalendar` package's validate(); a made-up event would show in the calendar).
_EMPTY = [
    "BEGIN:VTIMEZONE",
    "TZID:UTC",
    "BEGIN:STANDARD",
    "DTSTART:19700101T000000",
    "TZOFFSETFROM:+0000",
    "TZOFFSETTO:+0000",
    "TZNAME:UTC",
    "END:STANDARD",
    "END:VTIMEZONE",
]
