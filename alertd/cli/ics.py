"""`alertd ics`: an iCalendar feed of every deadline, its alerts as alarms."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TextIO

from alertd.config import load_or_report
from alertd.core.ics import build_calendar
from alertd.exitcodes import EX_FAIL, EX_OK
from alertd.redact import Redactor

__all__ = ["cmd_ics"]


def cmd_ics(config_dir: Path, *, now: datetime, out: TextIO, err: TextIO) -> int:
    """Print the iCalendar feed (CRLF line endings, as RFC 5545 requires) of every deadline."""
    config = load_or_report(config_dir, err)
    if config is None:
        return EX_FAIL
    out.write(build_calendar(config.deadlines, now=now, redact=Redactor(config.secrets)))
    out.flush()
    return EX_OK
