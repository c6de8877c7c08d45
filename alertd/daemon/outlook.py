"""What the daemon says it runs with, at start (`daemon.ready`) and after a reload (`config.reloaded`).

The fields name what was loaded and what comes next, for machines; `summary` says the same in
one sentence for a person on a terminal, and says plainly when no alert is ahead (a newcomer's
first `make run` on the shipped config, whose deadline is long past, would otherwise show a
bare `"next": null`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from alertd.config import Config
from alertd.core.display import humanize_seconds, rfc3339
from alertd.core.message import lead_words
from alertd.core.model import Deadline
from alertd.core.planner import next_alert

__all__ = ["outlook"]


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def outlook(config: Config, deadlines: Mapping[str, Deadline], upcoming: tuple[datetime, str] | None, *,
            now: datetime) -> dict[str, Any]:
    """The log fields: `config` (the directory), `files`, `deadlines`, `channels`, the next alert as
    `next` ("ID at INSTANT", or None), `next_deadline`, `next_lead`, `next_at`, and `summary`.

    `upcoming` is the timetable's earliest deadline wake-up (instant, deadline id), or None.
    """
    loaded = (f"{_count(len(deadlines), 'deadline')} and {_count(len(config.channels), 'channel')} "
              f"from {config.directory} ({_count(len(config.files), 'file')})")
    fields: dict[str, Any] = {"config": str(config.directory), "files": len(config.files),
                              "deadlines": len(deadlines), "channels": len(config.channels)}
    alert = next_alert(deadlines[upcoming[1]], now=upcoming[0]) if upcoming and upcoming[1] in deadlines else None
    if alert is None:
        why = ("there are no deadlines" if not deadlines else
               "the deadline's alerts have all passed" if len(deadlines) == 1 else
               "every deadline's alerts have passed")
        # the sentence first: a console line shows the fields in this order
        return {"summary": f"{loaded}; nothing ahead: {why}", **fields, "next": None, "next_deadline": None,
                "next_lead": None, "next_at": None}
    lead = "at its due" if alert.lead.is_zero else f"{lead_words(alert.lead)} before its due"
    when = (alert.fire_at - now).total_seconds()
    soon = "now" if when < 1 else f"in {humanize_seconds(when)}"
    return {"summary": f"{loaded}; next: {alert.deadline.id}, {lead}, at {rfc3339(alert.fire_at)} ({soon})",
            **fields, "next": f"{alert.deadline.id} at {rfc3339(alert.fire_at)}", "next_deadline": alert.deadline.id,
            "next_lead": alert.lead.iso, "next_at": rfc3339(alert.fire_at)}
