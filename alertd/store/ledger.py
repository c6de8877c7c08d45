# ruff: noqa: S608 - the only interpolated SQL text is the constant column list and "?" placeholders
"""The ledger: what alertd attempted, sent, failed, superseded or missed, in SQLite (WAL).

One file, `ledger.sqlite3` in the state directory. Schema (version 2, `PRAGMA user_version`;
sqlite_schema.py has the SQL and the migration from version 1):

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
                    force per (deadline_id, due): ledger_state.py.

Instants are stored as fixed-width UTC text (`2021-05-20T21:00:00.000000Z`), so text order is time
order and the file stays readable with the sqlite3 shell. `pending` rows wait for a delivery slot
or a retry (`next_retry_at`); `sending` rows were started and not confirmed: after a crash they are
sent again with the same key. Durability: WAL with synchronous=NORMAL survives a killed process
(the writes are in the OS); a power cut may lose the last commits, which at worst resends.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

from alertd.store.base import FINAL_STATES, Mark, NewRow, Row
from alertd.store.ledger_state import LedgerError, StateTables, fmt, parse
from alertd.store.sqlite_schema import SCHEMA_VERSION, upgrade

__all__ = ["LEDGER_FILE", "SCHEMA_VERSION", "Ledger", "LedgerError", "fmt", "parse"]

LEDGER_FILE = "ledger.sqlite3"  # in the state directory (`alertd run` writes it, `alertd status` reads it)
_CHUNK = 500  # SQLite's default limit on bound parameters is 999 (older builds)

_COLUMNS = ("key, deadline_id, lead, due, channel, fire_at, state, reason, attempts, first_attempt_at, "
            "last_attempt_at, sent_at, next_retry_at, last_error, updated_at, kind, action_id")


def _row(r: Sequence) -> Row:
    return Row(r[0], r[1], r[2], parse(r[3]), r[4], parse(r[5]), r[6], r[7], r[8], parse(r[9]),  # type: ignore[arg-type]
               parse(r[10]), parse(r[11]), parse(r[12]), r[13], parse(r[14]), r[15], r[16])  # type: ignore[arg-type]


class Ledger(StateTables):
    """The SQLite ledger, a `Store` (base.py). Every method is one short transaction; reads use indexes."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._data_version = conn.execute("PRAGMA data_version").fetchone()[0]

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path) -> Ledger:
        """Open or create the ledger at `path`; raises LedgerError naming the path."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(f"cannot create state directory {path.parent}: {exc.strerror or exc}") from None
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
            try:
                upgrade(conn, version)
            except ValueError as exc:
                raise LedgerError(f"ledger {path} {exc}") from None
            conn.execute("SELECT key FROM deliveries LIMIT 1").fetchall()
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
        return cls(conn, path)

    def close(self) -> None:
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

        Streamed into one transaction: at 100,000 deadlines no list of rows is built (~20 MB at
        start-up), and ignoring known pairs costs the same as finding them first (~0.3 s).
        """
        stamp = fmt(now)
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany(
                "INSERT OR IGNORE INTO deadlines_seen (deadline_id, due, first_seen) VALUES (?, ?, ?)",
                ((i, fmt(due), stamp) for i, due in pairs))

    def first_seen(self, pairs: Iterable[tuple[str, datetime]]) -> dict[tuple[str, datetime], datetime]:
        """When each pair was first seen; pairs never seen are absent."""
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
                    out[pair] = parse(seen)
        return out  # type: ignore[return-value]

    # -- reading deliveries -------------------------------------------------------------------
    def get(self, key: str) -> Row | None:
        r = self.conn.execute(f"SELECT {_COLUMNS} FROM deliveries WHERE key = ?", (key,)).fetchone()
        return _row(r) if r else None

    def rows(self, keys: Iterable[str]) -> dict[str, Row]:
        """The recorded rows among `keys`, by key (chunked IN queries on the primary key)."""
        keys = list(keys)
        out: dict[str, Row] = {}
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i:i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for r in self.conn.execute(f"SELECT {_COLUMNS} FROM deliveries WHERE key IN ({marks})", chunk):
                out[r[0]] = _row(r)
        return out

    def unfinished(self) -> list[Row]:
        """Rows still pending or sending (through the partial index)."""
        return [_row(r) for r in self.conn.execute(
            f"SELECT {_COLUMNS} FROM deliveries WHERE state IN ('pending', 'sending')")]

    def next(self, limit: int = 10) -> list[Row]:
        """Pending rows in the order they will be attempted (for `alertd status`)."""
        return [_row(r) for r in self.conn.execute(
            f"SELECT {_COLUMNS} FROM deliveries WHERE state IN ('pending', 'sending') "
            "ORDER BY coalesce(next_retry_at, fire_at) LIMIT ?", (limit,))]

    def recent(self, limit: int = 20) -> list[Row]:
        """The most recently changed rows, newest first."""
        return [_row(r) for r in self.conn.execute(
            f"SELECT {_COLUMNS} FROM deliveries ORDER BY updated_at DESC LIMIT ?", (limit,))]

    def failures(self, limit: int = 20) -> list[Row]:
        """Given-up and missed deliveries, newest first."""
        return [_row(r) for r in self.conn.execute(
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
            out += [_row(r) for r in self.conn.execute(
                f"SELECT {_COLUMNS} FROM deliveries WHERE deadline_id IN ({','.join('?' * len(chunk))}) "
                "AND state IN ('pending', 'sending')", chunk) if (r[1], r[3]) in wanted]
        return out

    def received_after_due(self, deadline_id: str, due: datetime, *, before: datetime) -> list[str]:
        """Channels sent (or being sent) a repeat or escalation for this due, planned at or before `before`."""
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT channel FROM deliveries WHERE deadline_id = ? AND due = ? "
            "AND state IN ('sent', 'sending') AND kind IN ('deadline.overdue', 'deadline.escalation') "
            "AND fire_at <= ? ORDER BY channel",
            (deadline_id, fmt(due), fmt(before)))]

    def iter_all(self) -> Iterator[Row]:
        for r in self.conn.execute(f"SELECT {_COLUMNS} FROM deliveries ORDER BY fire_at, key"):
            yield _row(r)

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        """A transaction of its own, or a part of the caller's when one is open."""
        if self.conn.in_transaction:
            yield
            return
        with self.conn:
            yield

    # -- writing ------------------------------------------------------------------------------
    def record(self, rows: Iterable[NewRow], *, now: datetime) -> None:
        """Record decisions in one transaction. A row already final is left alone; an open one
        takes the new state (a pending retry that became superseded, for instance)."""
        stamp = fmt(now)
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany(
                "INSERT INTO deliveries (key, deadline_id, lead, due, channel, fire_at, state, reason, updated_at, "
                "kind, action_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET state = excluded.state, reason = excluded.reason, "
                "updated_at = excluded.updated_at, "
                "next_retry_at = CASE WHEN excluded.state = 'pending' THEN deliveries.next_retry_at END "
                "WHERE deliveries.state IN ('pending', 'sending')",
                ((r.key, r.deadline_id, r.lead, fmt(r.due), r.channel, fmt(r.fire_at), r.state, r.reason, stamp,
                  r.kind, r.action_id) for r in rows))

    def mark_sending(self, key: str, *, now: datetime) -> None:
        """Recorded before the request leaves: a crash after this resends with the same key."""
        stamp = fmt(now)
        with self._tx():
            self.conn.execute(
                "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, "
                "first_attempt_at = coalesce(first_attempt_at, ?), last_attempt_at = ?, next_retry_at = NULL, "
                "updated_at = ? WHERE key = ?", (stamp, stamp, stamp, key))

    def mark_sent(self, key: str, *, now: datetime) -> None:
        """Recorded after the receiver accepted the delivery."""
        stamp = fmt(now)
        with self._tx():
            self.conn.execute("UPDATE deliveries SET state = 'sent', reason = NULL, sent_at = ?, next_retry_at = NULL, "
                              "updated_at = ? WHERE key = ?", (stamp, stamp, key))

    def apply_marks(self, marks: Iterable[Mark]) -> None:
        """`sending` and `sent` marks (state, key, now) in one transaction, in order."""
        with self.conn:
            self.conn.execute("BEGIN")
            for state, key, now in marks:
                (self.mark_sending if state == "sending" else self.mark_sent)(key, now=now)

    def mark_retry(self, key: str, *, at: datetime, error: str, now: datetime) -> None:
        with self.conn:
            self.conn.execute("UPDATE deliveries SET state = 'pending', next_retry_at = ?, last_error = ?, "
                              "updated_at = ? WHERE key = ?", (fmt(at), error, fmt(now), key))

    def finish(self, key: str, state: str, *, reason: str, now: datetime, error: str | None = None) -> None:
        """Close a row as failed, superseded or missed, keeping it for the record."""
        if state not in FINAL_STATES:
            raise ValueError(f"{state!r} is not a final state")
        with self.conn:
            self.conn.execute("UPDATE deliveries SET state = ?, reason = ?, next_retry_at = NULL, "
                              "last_error = coalesce(?, last_error), updated_at = ? WHERE key = ?",
                              (state, reason, error, fmt(now), key))
