# ruff: noqa: S608 - the only interpolated SQL text is the constant column list and "?" placeholders
"""What people did about a deadline's due, in the SQLite ledger: the state half of `Ledger`.

`deadline_actions` keeps every ack, snooze, done and reopen that changed something, `deadline_state`
the ack, snooze and done in force per (deadline id, due) as action ids (sqlite_schema.py). An
`alertd ack` beside a running daemon writes both in one `BEGIN IMMEDIATE` transaction; the daemon
notices through `PRAGMA data_version`, which changes when ANOTHER connection committed (no table
read), then reads the new actions by id. It asks when `change_fd()` (an inotify watch on the WAL
file, which every commit writes) becomes readable, so an idle daemon asks nothing; where there is
no inotify it asks on every 250 ms tick.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from alertd.core.state import Act, Action, DeadlineState
from alertd.store.base import Pair, StoreError
from alertd.store.inotify import FileWatch
from alertd.store.rows import fmt, parse

__all__ = ["LedgerError", "StateTables"]

_CHUNK = 500  # SQLite's default limit on bound parameters is 999 (older builds)
_ACTION = "id, deadline_id, due, act, who, note, until, at"
_A = ", ".join(f"a.{c.strip()}" for c in _ACTION.split(","))


class LedgerError(StoreError):
    """The ledger cannot be opened or written: the message names the path and the cause."""


def _action(r: Sequence) -> Action | None:
    if r[0] is None:
        return None
    return Action(r[1], parse(r[2]), Act(r[3]), r[4], parse(r[7]), r[5], parse(r[6]), r[0])  # type: ignore[arg-type]


class StateTables:
    """The state operations of the `Store` protocol (base.py) on the ledger's connection."""

    conn: sqlite3.Connection
    path: Path
    _data_version: int
    _watch: FileWatch | None = None
    _watch_tried = False

    def act(self, action: Action) -> tuple[Action | None, DeadlineState]:
        """Record `action` if it changes its (deadline, due)'s state; BEGIN IMMEDIATE takes the write
        lock before reading, so of two racing acks the second sees the first and records nothing."""
        pair = (action.deadline_id, fmt(action.due))
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                state = self._read_states([pair]).get((action.deadline_id, action.due), DeadlineState())
                if state.apply(action) is None:
                    self.conn.execute("ROLLBACK")
                    return None, state
                cur = self.conn.execute(
                    "INSERT INTO deadline_actions (deadline_id, due, act, who, note, until, at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (*pair, action.act.value, action.by, action.note,
                     fmt(action.until) if action.until is not None else None, fmt(action.at)))
                recorded = replace(action, id=cur.lastrowid)
                after = state.apply(recorded) or DeadlineState()
                if after.empty:
                    self.conn.execute("DELETE FROM deadline_state WHERE deadline_id = ? AND due = ?", pair)
                else:
                    self.conn.execute(
                        "INSERT OR REPLACE INTO deadline_state (deadline_id, due, acked, snoozed, done) "
                        "VALUES (?, ?, ?, ?, ?)", (*pair, *(a.id if a else None for a in (
                            after.acked, after.snoozed, after.done))))
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot record in ledger {self.path}: {exc}") from None
        return recorded, after

    def states(self, pairs: Iterable[Pair] | None = None) -> dict[Pair, DeadlineState]:
        """The states in force for `pairs` (None: all of them)."""
        return self._read_states(None if pairs is None else [(i, fmt(due)) for i, due in pairs])

    def _read_states(self, pairs: list[tuple[str, str]] | None) -> dict[Pair, DeadlineState]:
        select = (f"SELECT s.deadline_id, s.due, {_A}, {_A.replace('a.', 'b.')}, {_A.replace('a.', 'c.')} "
                  "FROM deadline_state s LEFT JOIN deadline_actions a ON a.id = s.acked "
                  "LEFT JOIN deadline_actions b ON b.id = s.snoozed LEFT JOIN deadline_actions c ON c.id = s.done")
        if pairs is None:
            found = self.conn.execute(select).fetchall()
        else:
            wanted = set(pairs)
            ids = sorted({i for i, _ in wanted})
            found = []
            for start in range(0, len(ids), _CHUNK):  # chunked IN queries on the primary key's first column
                chunk = ids[start:start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                found += [r for r in self.conn.execute(f"{select} WHERE s.deadline_id IN ({marks})", chunk)
                          if (r[0], r[1]) in wanted]
        return {(r[0], parse(r[1])): DeadlineState(_action(r[2:10]), _action(r[10:18]), _action(r[18:26]))  # type: ignore[misc]
                for r in found}

    def _close_watch(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def actions_after(self, after: int, limit: int = 1000) -> list[Action]:
        return [_action(r) for r in self.conn.execute(  # type: ignore[misc]
            f"SELECT {_ACTION} FROM deadline_actions WHERE id > ? ORDER BY id LIMIT ?", (after, limit))]

    def action(self, action_id: int) -> Action | None:
        r = self.conn.execute(f"SELECT {_ACTION} FROM deadline_actions WHERE id = ?", (action_id,)).fetchone()
        return _action(r) if r else None

    def change_fd(self) -> int | None:
        """A descriptor readable after any commit to the ledger (an inotify watch on its WAL file:
        the daemon's own commits too, which `changed()` then tells apart), or None: poll `changed()`."""
        if not self._watch_tried:
            self._watch_tried = True
            self._watch = FileWatch.open(self.path.with_name(self.path.name + "-wal"))
        return self._watch.fd if self._watch is not None else None

    def changed(self) -> bool:
        """Whether another connection committed since the last call: `PRAGMA data_version`, which
        reads the WAL index in shared memory and no table (~10 µs warm, ~0.1 ms after a sleep).
        Also reads the pending events of `change_fd()`."""
        if self._watch is not None:
            self._watch.drain()
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        if version == self._data_version:
            return False
        self._data_version = version
        return True
