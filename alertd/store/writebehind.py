"""Ledger writes the disk refused, kept in memory until they can be written, and read through.

When SQLite cannot write (the disk is full, the file went read-only, an I/O error), the daemon
must neither die nor forget that a request was sent: a `sent` mark lost there is a duplicate after
the next restart. So the ledger (ledger.py) queues each write it could not make, in order, and
replays the whole queue in one transaction once writing works again. Meanwhile its reads see the
queued writes applied (`Pending.row`, `Pending.seen`): this process never sends twice what it sent
while the disk was full.

The queued writes are replayed by the same SQL as always; `apply` here repeats their meaning on
rows in memory, and tests/store compare the two on the same sequences of writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from alertd.store.base import OPEN_STATES, NewRow, Row

__all__ = ["Pending", "Write", "apply"]

Write = tuple[str, tuple[Any, ...]]  # (operation, arguments): ("record", (rows, now)), ("sent", (key, now)), ...


def apply(op: str, args: tuple[Any, ...], get: Callable[[str], Row | None]) -> dict[str, Row]:
    """The rows a write changes, as the ledger's SQL would leave them; `get` reads the current row."""
    if op == "record":
        rows, now = args
        out: dict[str, Row] = {}
        for r in rows:
            old = out.get(r.key) or get(r.key)
            new = _recorded(r, old, now)
            if new is not None:
                out[r.key] = new
        return out
    key = args[0]
    old = get(key)
    if old is None:  # an UPDATE of a row that does not exist changes nothing
        return {}
    if op == "sending":
        now = args[1]
        return {key: dataclasses.replace(old, state="sending", attempts=old.attempts + 1,
                                         first_attempt_at=old.first_attempt_at or now, last_attempt_at=now,
                                         next_retry_at=None, updated_at=now)}
    if op == "sent":
        now = args[1]
        return {key: dataclasses.replace(old, state="sent", reason=None, sent_at=now, next_retry_at=None,
                                         updated_at=now)}
    if op == "retry":
        _, at, error, now = args
        return {key: dataclasses.replace(old, state="pending", next_retry_at=at, last_error=error, updated_at=now)}
    if op == "finish":
        _, state, reason, now, error = args
        return {key: dataclasses.replace(old, state=state, reason=reason, next_retry_at=None,
                                         last_error=error if error is not None else old.last_error, updated_at=now)}
    raise ValueError(f"unknown ledger write {op!r}")


def _recorded(r: NewRow, old: Row | None, now: datetime) -> Row | None:
    if old is None:
        return Row(r.key, r.deadline_id, r.lead, r.due, r.channel, r.fire_at, r.state, r.reason, 0, None, None, None,
                   None, None, now, kind=r.kind, action_id=r.action_id)
    if old.state not in OPEN_STATES:
        return None  # a final row is left alone
    return dataclasses.replace(old, state=r.state, reason=r.reason, updated_at=now,
                               next_retry_at=old.next_retry_at if r.state == "pending" else None)


class Pending:
    """The queued writes and what they change: rows by key, first-seen instants by (deadline, due)."""

    def __init__(self) -> None:
        self.writes: list[Write] = []
        self.rows: dict[str, Row] = {}
        self.seen: dict[tuple[str, str], datetime] = {}  # (deadline id, fmt(due)) -> first seen
        self.since: float | None = None  # monotonic start of the episode
        self.next_try = 0.0  # monotonic: when to try writing again
        self.error = ""

    def __bool__(self) -> bool:
        return bool(self.writes)

    def add(self, write: Write, read: Callable[[str], Row | None]) -> None:
        """Queue `write`; `read` gives a key's row as written (the overlay is applied on top)."""
        self.writes.append(write)
        op, args = write
        if op == "see":
            return  # `seen` is filled by the ledger, which knows which pairs are new
        self.rows.update(apply(op, args, lambda key: self.rows[key] if key in self.rows else read(key)))

    def clear(self) -> None:
        self.writes.clear()
        self.rows.clear()
        self.seen.clear()
        self.since = None
        self.error = ""
