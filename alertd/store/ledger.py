# ruff: noqa: S608 - the only interpolated SQL text is the constant column list and "?" placeholders
"""The ledger: what alertd attempted, sent, failed, superseded or missed, in SQLite (WAL).

One file, `ledger.sqlite3` in the state directory. Schema (version 3, `PRAGMA user_version`;
sqlite_schema.py has the SQL and the migrations from versions 1 and 2):

    deliveries      one row per delivery key (one alert or notice to one channel), created when the
                    alert's instant has passed and alertd decided what to do with it; never for future alerts.
        key              TEXT PRIMARY KEY   the stable delivery key (webhook `alert_id`)
        deadline_id      TEXT               the deadline's id
        lead             TEXT               canonical ISO 8601 lead (`P1D`, `PT0S`, `-PT30M` after the due;
                                            empty for a notice)
        due              TEXT               the due instant the key was built from
        channel          TEXT               the channel name
        fire_at          TEXT               the instant the alert was planned for (a notice: its action's)
        state            TEXT               pending | sending | sent | failed | superseded | missed
        reason           TEXT               a named reason for failed/superseded/missed (`permanent`, ...)
        attempts         INTEGER            delivery attempts started
        first_attempt_at, last_attempt_at, sent_at, next_retry_at   TEXT or NULL
        last_error       TEXT               the last delivery error, secrets redacted
        updated_at       TEXT               last change of the row
        kind             TEXT               the webhook type (`deadline.overdue`, ...); NULL in version-1 rows
        action_id        INTEGER            a notice's action (deadline_actions.id)
    deadlines_seen  when each (deadline_id, due) was first seen while its due was still ahead;
                    a deadline that passed before it was ever seen sends nothing.
    deadline_actions, deadline_state   what people did (ack, snooze, done, reopen) and what is in
                    force per (deadline_id, due): ledger_state.py. `keys`: the action-link key (keys.py).

Instants are stored as fixed-width UTC text (`2021-05-20T21:00:00.000000Z`), so text order is time
order and the file stays readable with the sqlite3 shell. `pending` rows wait for a delivery slot
or a retry (`next_retry_at`); `sending` rows were started and not confirmed: after a crash they are
sent again with the same key. Durability: WAL with synchronous=NORMAL survives a killed process
(the writes are in the OS); a power cut may lose the last commits, which at worst resends.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import structlog

from alertd.store.base import FINAL_STATES, OPEN_STATES, Mark, NewRow, Row
from alertd.store.integrity import check_ledger
from alertd.store.keys import KeyTable
from alertd.store.ledger_state import LedgerError, StateTables
from alertd.store.pages import DeliveryPages
from alertd.store.rows import COLUMNS as _COLUMNS
from alertd.store.rows import fmt, parse, row_from_sql, unreadable
from alertd.store.sqlite_schema import SCHEMA_VERSION, upgrade
from alertd.store.sqlwrites import execute_write, storage_error
from alertd.store.writebehind import Pending, Write

__all__ = ["LEDGER_FILE", "SCHEMA_VERSION", "Ledger", "LedgerError", "fmt", "parse"]

LEDGER_FILE = "ledger.sqlite3"  # in the state directory (`alertd run` writes it, `alertd status` reads it)
_CHUNK = 500  # SQLite's default limit on bound parameters is 999 (older builds)
RETRY_WRITE = 1.0  # seconds between attempts to write what the storage refused

log = structlog.get_logger("alertd.store.ledger")



def _probe_write(conn: sqlite3.Connection, path: Path) -> None:
    """A write that changes nothing, at open: a ledger that cannot be written is refused now, with
    its reason, not found out at the first delivery (a read-only file or mount, a full disk)."""
    try:
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("CREATE TABLE alertd_probe (x)")
            conn.execute("DROP TABLE alertd_probe")
    except sqlite3.Error as exc:
        raise LedgerError(f"cannot write ledger {path} ({exc}): fix its permissions or free disk space") from None


class Ledger(StateTables, KeyTable, DeliveryPages):
    """The SQLite ledger, a `Store` (base.py). Every method is one short transaction; reads use indexes."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.pending = Pending()
        self.readonly = False
        self._data_version = conn.execute("PRAGMA data_version").fetchone()[0]

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path) -> Ledger:
        """Open or create the ledger at `path`; raises LedgerError naming the path."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(f"cannot create state directory {path.parent}: {exc.strerror or exc}") from None
        if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            # (SQLite would say "unable to open database file": it cannot make the -wal file)
            raise LedgerError(f"cannot write ledger {path}: the file or its directory is read-only; fix the "
                              "permissions (or the mount)")
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open ledger {path}: {exc}") from None
        try:
            conn.execute("PRAGMA busy_timeout = 5000")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise LedgerError(f"ledger {path}: cannot switch to WAL journal mode (got {mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            if version > SCHEMA_VERSION:
                raise LedgerError(f"ledger {path} has schema version {version}, newer than this alertd "
                                  f"understands ({SCHEMA_VERSION}); run a newer alertd")
            if version:  # a ledger of another shape is refused before a migration trips over it
                check_ledger(conn, path, version, error=LedgerError)
            try:
                upgrade(conn, version)
            except ValueError as exc:
                raise LedgerError(f"ledger {path} {exc}") from None
            if version != SCHEMA_VERSION:
                check_ledger(conn, path, SCHEMA_VERSION, error=LedgerError)
            _probe_write(conn, path)
        except LedgerError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise LedgerError(f"ledger {path} is unusable ({exc}); it may be corrupt or unwritable: "
                              "fix the permissions or move the file away") from None
        return cls(conn, path)

    @classmethod
    def open_readonly(cls, path: Path) -> Ledger:
        """Open an existing ledger for reading only (`alertd status`); never creates or migrates.

        Raises LedgerError naming the path when it is missing, unreadable or of another schema.
        """
        if not path.is_file():
            raise LedgerError(f"no ledger at {path}: has `alertd run` started with this state directory?")
        # No -wal file: no daemon has the ledger open (the last one checkpointed and removed it).
        # A mode=ro connection would then create -wal and -shm owned by whoever runs `alertd
        # status` (root, under systemd), which the daemon's dynamic user could not open on its next
        # start. `immutable=1` reads the file as it is and creates nothing; a daemon starting
        # meanwhile writes to its new WAL and touches the main file only at a checkpoint.
        params = "mode=ro" if path.with_name(path.name + "-wal").exists() else "mode=ro&immutable=1"
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?{params}", uri=True, isolation_level=None,
                                   check_same_thread=False)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot read ledger {path}: {exc}") from None
        if version != SCHEMA_VERSION:
            conn.close()
            hint = ": start `alertd run` (or run `alertd ack`) once to upgrade it" if version < SCHEMA_VERSION else ""
            raise LedgerError(f"ledger {path} has schema version {version}; this alertd reads {SCHEMA_VERSION}{hint}")
        try:
            check_ledger(conn, path, SCHEMA_VERSION, error=LedgerError)
        except LedgerError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise LedgerError(f"cannot read ledger {path}: {exc}") from None
        ledger = cls(conn, path)
        ledger.readonly = True
        return ledger

    def close(self) -> None:
        if self.pending:
            self.pending.next_try = 0.0
            self.retry_unwritten()
        if self.pending:
            log.error("ledger.unwritten_at_exit", path=str(self.path), writes=len(self.pending.writes),
                      consequence="deliveries sent since the storage failed may be sent again after a restart")
        self._close_watch()
        self.conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    # -- deadlines seen -----------------------------------------------------------------------
    def see(self, pairs: Iterable[tuple[str, datetime]], *, now: datetime) -> None:
        """Remember (deadline_id, due) pairs first seen at `now` (existing ones keep their time).

        One transaction of `INSERT OR IGNORE` (as fast as finding the known pairs first, ~0.3 s at
        100,000). The pairs are listed first so that a write the storage refuses can be kept.
        """
        self._write(("see", (list(pairs), now)))

    def first_seen(self, pairs: Iterable[tuple[str, datetime]]) -> dict[tuple[str, datetime], datetime]:
        """When each pair was first seen; pairs never seen are absent."""
        pairs = list(pairs)
        out = self._first_seen_written(pairs)
        if self.pending.seen:
            for deadline_id, due in pairs:
                seen = self.pending.seen.get((deadline_id, fmt(due)))
                if seen is not None and (deadline_id, due) not in out:
                    out[(deadline_id, due)] = seen
        return out

    def _first_seen_written(self, pairs: list[tuple[str, datetime]]) -> dict[tuple[str, datetime], datetime]:
        wanted = {(deadline_id, fmt(due)): (deadline_id, due) for deadline_id, due in pairs}
        ids = sorted({deadline_id for deadline_id, _ in wanted})
        out = {}
        for i in range(0, len(ids), _CHUNK):  # chunked IN queries on the primary key's first column
            chunk = ids[i:i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for deadline_id, due, seen in self.conn.execute(
                    f"SELECT deadline_id, due, first_seen FROM deadlines_seen WHERE deadline_id IN ({marks})", chunk):
                pair = wanted.get((deadline_id, due))
                if pair is not None:
                    try:
                        out[pair] = parse(seen)  # type: ignore[assignment]
                    except (TypeError, ValueError):
                        values = (deadline_id, due, seen)
                        raise LedgerError(unreadable(self.path, "deadlines_seen", values, SCHEMA_VERSION)) from None
        return out  # type: ignore[return-value]

    # -- reading deliveries -------------------------------------------------------------------
    def get(self, key: str) -> Row | None:
        if key in self.pending.rows:
            return self.pending.rows[key]
        return self._get_written(key)

    def _get_written(self, key: str) -> Row | None:
        r = self.conn.execute(f"SELECT {_COLUMNS} FROM deliveries WHERE key = ?", (key,)).fetchone()
        return self._row(r) if r else None

    def rows(self, keys: Iterable[str]) -> dict[str, Row]:
        """The recorded rows among `keys`, by key (chunked IN queries on the primary key)."""
        keys = list(keys)
        out: dict[str, Row] = {}
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i:i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for r in self.conn.execute(f"SELECT {_COLUMNS} FROM deliveries WHERE key IN ({marks})", chunk):
                out[r[0]] = self._row(r)
        if self.pending.rows:
            out.update((k, self.pending.rows[k]) for k in keys if k in self.pending.rows)
        return out

    def unfinished(self) -> list[Row]:
        """Rows still pending or sending (through the partial index)."""
        rows = [self._row(r) for r in self.conn.execute(
            f"SELECT {_COLUMNS} FROM deliveries WHERE state IN ('pending', 'sending')")]
        if not self.pending.rows:
            return rows
        held = self.pending.rows
        return ([r for r in rows if r.key not in held]
                + [r for r in held.values() if r.state in OPEN_STATES])

    def next(self, limit: int = 10) -> list[Row]:
        """Pending rows in the order they will be attempted (for `alertd status`)."""
        return [self._row(r) for r in self.conn.execute(
            f"SELECT {_COLUMNS} FROM deliveries WHERE state IN ('pending', 'sending') "
            "ORDER BY coalesce(next_retry_at, fire_at) LIMIT ?", (limit,))]

    def recent(self, limit: int = 20) -> list[Row]:
        """The most recently changed rows, newest first."""
        return [self._row(r) for r in self.conn.execute(
            f"SELECT {_COLUMNS} FROM deliveries ORDER BY updated_at DESC LIMIT ?", (limit,))]

    def failures(self, limit: int = 20) -> list[Row]:
        """Given-up and missed deliveries, newest first."""
        return [self._row(r) for r in self.conn.execute(
            f"SELECT {_COLUMNS} FROM deliveries WHERE state IN ('failed', 'missed') "
            "ORDER BY updated_at DESC LIMIT ?", (limit,))]

    def counts(self) -> dict[str, int]:
        """How many rows are in each state."""
        return dict(self.conn.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall())

    def unfinished_for(self, pairs: Iterable[tuple[str, datetime]]) -> list[Row]:
        """Rows still pending or sending of those (deadline id, due) pairs (a partial index holds only those)."""
        wanted = {(i, fmt(due)) for i, due in pairs}
        ids = sorted({i for i, _ in wanted})
        out = []
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i:i + _CHUNK]
            out += [self._row(r) for r in self.conn.execute(
                f"SELECT {_COLUMNS} FROM deliveries WHERE deadline_id IN ({','.join('?' * len(chunk))}) "
                "AND state IN ('pending', 'sending')", chunk) if (r[1], r[3]) in wanted]
        if not self.pending.rows:
            return out
        held = self.pending.rows  # writes the storage refused, as they will be
        return ([r for r in out if r.key not in held]
                + [r for r in held.values() if r.state in OPEN_STATES and (r.deadline_id, fmt(r.due)) in wanted])

    def received_after_due(self, deadline_id: str, due: datetime, *, before: datetime) -> list[str]:
        """Channels sent (or being sent) a repeat or escalation for this due, planned at or before `before`."""
        held = self.pending.rows  # writes the storage refused, as they will be: they override what is written
        found = {r[1] for r in self.conn.execute(
            "SELECT key, channel FROM deliveries WHERE deadline_id = ? AND due = ? "
            "AND state IN ('sent', 'sending') AND kind IN ('deadline.overdue', 'deadline.escalation') "
            "AND fire_at <= ?", (deadline_id, fmt(due), fmt(before))) if r[0] not in held}
        found |= {r.channel for r in held.values()
                  if r.deadline_id == deadline_id and r.due == due and r.state in ("sent", "sending")
                  and r.kind in ("deadline.overdue", "deadline.escalation") and r.fire_at <= before}
        return sorted(found)

    def iter_all(self) -> Iterator[Row]:
        for r in self.conn.execute(f"SELECT {_COLUMNS} FROM deliveries ORDER BY fire_at, key"):
            yield self._row(r)

    # -- writing ------------------------------------------------------------------------------
    # Every write goes through `_write`: one transaction, or, when the storage refuses it, a place
    # in `pending` (writebehind.py) until it can be written; reads see pending writes applied.
    def record(self, rows: Iterable[NewRow], *, now: datetime) -> None:
        """Record decisions in one transaction. A row already final is left alone; an open one
        takes the new state (a pending retry that became superseded, for instance)."""
        self._write(("record", (list(rows), now)))

    def mark_sending(self, key: str, *, now: datetime) -> None:
        """Recorded before the request leaves: a crash after this resends with the same key."""
        self._write(("sending", (key, now)))

    def mark_sent(self, key: str, *, now: datetime) -> None:
        """Recorded after the receiver accepted the delivery."""
        self._write(("sent", (key, now)))

    def apply_marks(self, marks: Iterable[Mark]) -> None:
        """`sending` and `sent` marks (state, key, now) in one transaction, in order."""
        self._write(*((state, (key, now)) for state, key, now in marks))

    def mark_retry(self, key: str, *, at: datetime, error: str, now: datetime) -> None:
        self._write(("retry", (key, at, error, now)))

    def finish(self, key: str, state: str, *, reason: str, now: datetime, error: str | None = None) -> None:
        """Close a row as failed, superseded or missed, keeping it for the record."""
        if state not in FINAL_STATES:
            raise ValueError(f"{state!r} is not a final state")
        self._write(("finish", (key, state, reason, now, error)))

    def _row(self, r: Sequence) -> Row:
        try:
            return row_from_sql(r)
        except (TypeError, ValueError, AttributeError):
            raise LedgerError(unreadable(self.path, "deliveries", r, SCHEMA_VERSION)) from None

    @property
    def unwritten(self) -> int:
        """Writes kept in memory because the storage refused them (0 when all is written)."""
        return len(self.pending.writes)

    def retry_unwritten(self) -> bool:
        """Try writing what the storage refused (at most every RETRY_WRITE seconds); True when none is left."""
        if self.pending and time.monotonic() >= self.pending.next_try:
            self._write()
        return not self.pending

    def _write(self, *writes: Write) -> None:
        if self.readonly:  # `alertd status`: a write is a bug, not a storage failure to wait out
            raise LedgerError(f"ledger {self.path} is open read-only")
        if self.pending and time.monotonic() < self.pending.next_try:
            self._keep(writes, None)  # the storage failed a moment ago: do not hammer it
            return
        try:
            with self.conn:
                self.conn.execute("BEGIN IMMEDIATE")
                for write in (*self.pending.writes, *writes):
                    execute_write(self.conn, write)
        except sqlite3.Error as exc:
            if not storage_error(exc):
                raise
            self._keep(writes, exc)
            return
        if self.pending:
            log.warning("ledger.write_recovered", path=str(self.path), written=len(self.pending.writes),
                        seconds=round(time.monotonic() - (self.pending.since or 0.0), 3))
            self.pending.clear()

    def _keep(self, writes: tuple[Write, ...], exc: sqlite3.Error | None) -> None:
        first = not self.pending
        for write in writes:
            if write[0] == "see":
                self._keep_seen(write[1])
            self.pending.add(write, self._get_written)
        started = time.monotonic()
        self.pending.next_try = started + RETRY_WRITE
        if first and self.pending:
            self.pending.since = started
            self.pending.error = str(exc) if exc is not None else ""
            log.error("ledger.write_failed", path=str(self.path), error=self.pending.error,
                      action=f"keeping the ledger's writes in memory, retrying every {RETRY_WRITE:g} s")

    def _keep_seen(self, args: tuple) -> None:
        pairs, now = args
        known = self._first_seen_written(pairs)
        for deadline_id, due in pairs:
            if (deadline_id, due) not in known:
                self.pending.seen.setdefault((deadline_id, fmt(due)), now)
