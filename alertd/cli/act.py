"""`alertd ack | snooze | done | reopen ID`: what people did about a deadline's current due.

Each reads the config (for the deadline's current due), records the action in the state store
with who (`--by`, default the invoking user) and when, and says what it did. They work with the
daemon stopped or beside a running one (SQLite WAL; the write waits up to 5 s for the daemon's);
a running daemon applies the change within a second. Exit 0 when the action is recorded or was
already in force (a second `ack` records nothing and is no error); 1 for an unknown ID (naming
the nearest ids), an invalid config or a store that cannot be written (naming its path); 2 for a
bad argument (a snooze in the past, a bad duration).

Run as root (`sudo alertd ack ...`) beside a daemon whose state directory belongs to its service
user, the files it creates are handed to that user, so the daemon can still open every file.
"""

from __future__ import annotations

import contextlib
import difflib
import getpass
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from alertd.cli.common import UsageError, open_database, parse_instant
from alertd.config import load_or_report
from alertd.core.display import due_text, printable, rfc3339, when_text
from alertd.core.leads import LeadError, parse_span
from alertd.core.model import Deadline
from alertd.core.state import Act, Action, DeadlineState
from alertd.exitcodes import EX_FAIL, EX_OK
from alertd.redact import Redactor
from alertd.settings import Settings, resolve_state_dir
from alertd.store.base import StoreError
from alertd.store.ledger import LEDGER_FILE, Ledger

__all__ = ["cmd_act", "default_user", "snooze_until"]

BY_MAX, NOTE_MAX = 200, 2000  # characters: a name and a short remark, not a document


def default_user() -> str:
    """The invoking user: under sudo the one who ran sudo, else the login name."""
    if os.geteuid() == 0 and os.environ.get("SUDO_USER"):
        return os.environ["SUDO_USER"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return f"uid {os.getuid()}"


def _checked_text(value: str | None, what: str, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise UsageError(f"{what} is empty")
    if len(value) > limit:
        raise UsageError(f"{what} is longer than {limit} characters")
    if any(not c.isprintable() and c not in "\n\t" for c in value) or (what == "--by" and "\n" in value):
        raise UsageError(f"{what} holds control characters")
    return value


def snooze_until(duration: str | None, until: str | None, *, now: datetime) -> datetime:
    """The end of a snooze from `DURATION` (lead syntax, elapsed) or `--until T`; UsageError otherwise."""
    if (duration is None) == (until is None):
        raise UsageError("snooze takes a DURATION (30m, 2h, 1d) or --until T, not both")
    if until is not None:
        end = parse_instant(until, "--until")
        if end <= now:
            raise UsageError(f"--until {until} is in the past ({rfc3339(now)} now)")
        return end
    try:
        seconds = parse_span(duration, "snooze duration")
    except LeadError as exc:
        raise UsageError(str(exc)) from None
    if seconds <= 0:
        raise UsageError("a snooze must last longer than 0")
    end = now + timedelta(seconds=seconds)
    return end + timedelta(microseconds=-end.microsecond % 1_000_000) if end.microsecond else end  # whole second


def cmd_act(config_dir: Path, settings: Settings, act: Act, deadline_id: str, *, by: str | None, note: str | None,
            until: datetime | None, clock, out: TextIO, err: TextIO) -> int:
    """Record `act` for the deadline's current due; print what happened; return the exit code."""
    who = _checked_text(by, "--by", BY_MAX) or default_user()
    note = _checked_text(note, "--note", NOTE_MAX)
    config = load_or_report(config_dir, err)
    if config is None:
        return EX_FAIL
    redact = Redactor(config.secrets)
    found = {d.id: d for d in config.deadlines}
    d = found.get(deadline_id)
    if d is None:
        near = difflib.get_close_matches(deadline_id, list(found), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        print(redact(f"alertd: error: no deadline {deadline_id!r} in {printable(str(config_dir))}{hint}"), file=err)
        return EX_FAIL
    if d.status != "open":
        if act is Act.REOPEN:
            print(redact(f"alertd: error: {d.id} is {d.status} in its config ({d.source}): change `status` there "
                         "to reopen it"), file=err)
            return EX_FAIL
        print(redact(f"{d.id} is {d.status} in its config ({d.source}): nothing is sent for it; nothing recorded"),
              file=out)
        return EX_OK
    state_dir = resolve_state_dir(settings)
    try:
        with (Ledger.open(state_dir / LEDGER_FILE) if settings.database_url is None
              else open_database(settings, migrate=True)) as ledger:
            if settings.database_url is None:
                _hand_over(state_dir, ledger.path)
            action = Action(d.id, d.due, act, who, clock(), note=note, until=until)
            recorded, state = ledger.act(action)  # on PostgreSQL every instance hears of it (NOTIFY)
    except StoreError as exc:
        print(f"alertd: error: {exc}; nothing was recorded", file=err)
        return EX_FAIL
    print(redact(_said(d, recorded or action, state, changed=recorded is not None)), file=out)
    return EX_OK


def _said(d: Deadline, action: Action, state: DeadlineState, *, changed: bool) -> str:
    """What the command did, in one line."""
    due = f"{d.id} (due {due_text(d)})"
    if not changed:
        why = state.done or state.acked if action.act is Act.ACK else state.done or state.snoozed
        if action.act is Act.REOPEN:
            return f"{due} is open: nothing to undo; nothing recorded"
        if why is None:  # pragma: no cover - apply() refuses only for the reasons above
            return f"{due}: nothing changed"
        word = {"ack": "acknowledged", "done": "done", "snooze": "snoozed"}[why.act.value]
        extra = f" until {rfc3339(why.until)}" if why.act is Act.SNOOZE and why.until else ""
        return f"{due} is already {word}{extra} (by {why.by} at {rfc3339(why.at)}); nothing recorded"
    by = f"by {action.by} at {rfc3339(action.at)}"
    if action.act is Act.ACK:
        return f"acknowledged {due} {by}: no more repeats or escalation steps for this due"
    if action.act is Act.DONE:
        return f"done: {due} {by}: nothing more is sent for this due"
    if action.act is Act.SNOOZE and action.until is not None:
        return (f"snoozed {due} {by} until {when_text(action.until, d.zone)} = {rfc3339(action.until)}: "
                "its alerts are held until then; the latest held one per channel goes then")
    return f"reopened {due} {by}: acknowledgement, snooze and done undone"


def _hand_over(state_dir: Path, ledger: Path) -> None:
    """Run as root beside a daemon that runs as its own user (systemd's DynamicUser): give the
    ledger's files this command may have created (the file itself, its -wal and -shm) to the owner
    of the state directory, so the daemon can still open them. Done right after opening, while
    they are in use; the -wal and -shm go away when the last connection closes."""
    if os.geteuid() != 0:
        return
    try:
        owner = state_dir.stat()
    except OSError:
        return
    if owner.st_uid == 0:
        return
    for path in (ledger, ledger.with_name(ledger.name + "-wal"), ledger.with_name(ledger.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_uid != owner.st_uid:
                os.chown(path, owner.st_uid, owner.st_gid)
