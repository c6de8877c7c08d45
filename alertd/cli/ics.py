"""`alertd ics`: an iCalendar feed of every deadline, its alerts as alarms.

Deadlines done or cancelled in their config, or marked done with `alertd done` (read from the
ledger when there is one; the feed is made without it otherwise), are marked as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

from alertd.config import load_or_report
from alertd.core.ics import build_calendar
from alertd.core.model import Deadline
from alertd.core.state import DeadlineState
from alertd.exitcodes import EX_FAIL, EX_OK
from alertd.redact import Redactor
from alertd.settings import Settings, resolve_state_dir
from alertd.store.ledger import LEDGER_FILE, Ledger, LedgerError

__all__ = ["cmd_ics"]


def _states(deadlines: Sequence[Deadline], settings: Settings | None, err: TextIO) -> dict[str, DeadlineState]:
    """The states in force from the ledger, read-only; none when there is no ledger to read."""
    if settings is None:
        return {}
    path = resolve_state_dir(settings) / LEDGER_FILE
    if not path.is_file():
        return {}
    try:
        with Ledger.open_readonly(path) as ledger:
            return {i: st for (i, _), st in ledger.states((d.id, d.due) for d in deadlines).items()}
    except LedgerError as exc:
        print(f"alertd: warning: {exc}; the feed shows only what the config says", file=err)
        return {}


def cmd_ics(config_dir: Path, *, now: datetime, out: TextIO, err: TextIO, settings: Settings | None = None) -> int:
    """Print the iCalendar feed (CRLF line endings, as RFC 5545 requires) of every deadline."""
    config = load_or_report(config_dir, err)
    if config is None:
        return EX_FAIL
    out.write(build_calendar(config.deadlines, now=now, redact=Redactor(config.secrets),
                             states=_states(config.deadlines, settings, err)))
    out.flush()
    return EX_OK
