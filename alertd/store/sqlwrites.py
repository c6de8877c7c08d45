"""The SQL of each ledger write, and which SQLite errors mean "the storage cannot take it now"."""

from __future__ import annotations

import sqlite3

from alertd.store.rows import fmt
from alertd.store.writebehind import Write

__all__ = ["execute_write", "storage_error"]


def execute_write(conn: sqlite3.Connection, write: Write) -> None:
    """Run one write's SQL on `conn`, inside the caller's transaction."""
    op, args = write
    run = conn.execute
    if op == "record":
        rows, now = args
        stamp = fmt(now)
        conn.executemany(
            "INSERT INTO deliveries (key, deadline_id, lead, due, channel, fire_at, state, reason, updated_at, "
            "kind, action_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET state = excluded.state, reason = excluded.reason, "
            "updated_at = excluded.updated_at, "
            "next_retry_at = CASE WHEN excluded.state = 'pending' THEN deliveries.next_retry_at END "
            "WHERE deliveries.state IN ('pending', 'sending')",
            ((r.key, r.deadline_id, r.lead, fmt(r.due), r.channel, fmt(r.fire_at), r.state, r.reason, stamp,
              r.kind, r.action_id) for r in rows))
    elif op == "see":
        pairs, now = args
        stamp = fmt(now)
        conn.executemany(
            "INSERT OR IGNORE INTO deadlines_seen (deadline_id, due, first_seen) VALUES (?, ?, ?)",
            ((i, fmt(due), stamp) for i, due in pairs))
    elif op == "sending":
        key, now = args
        stamp = fmt(now)
        run("UPDATE deliveries SET state = 'sending', attempts = attempts + 1, "
            "first_attempt_at = coalesce(first_attempt_at, ?), last_attempt_at = ?, next_retry_at = NULL, "
            "updated_at = ? WHERE key = ?", (stamp, stamp, stamp, key))
    elif op == "sent":
        key, now = args
        stamp = fmt(now)
        run("UPDATE deliveries SET state = 'sent', reason = NULL, sent_at = ?, next_retry_at = NULL, "
            "updated_at = ? WHERE key = ?", (stamp, stamp, key))
    elif op == "retry":
        key, at, error, now = args
        run("UPDATE deliveries SET state = 'pending', next_retry_at = ?, last_error = ?, updated_at = ? "
            "WHERE key = ?", (fmt(at), error, fmt(now), key))
    elif op == "finish":
        key, state, reason, now, error = args
        run("UPDATE deliveries SET state = ?, reason = ?, next_retry_at = NULL, "
            "last_error = coalesce(?, last_error), updated_at = ? WHERE key = ?",
            (state, reason, error, fmt(now), key))
    else:
        raise ValueError(f"unknown ledger write {op!r}")




# SQLite's primary result codes that mean "the storage cannot take this write now" (the disk is
# full, the file is read-only or locked, an I/O error): the write is kept in memory and retried.
# Anything else (a constraint, a misuse) is a bug and raised.
_STORAGE_CODES = frozenset({5, 6, 8, 10, 11, 13, 14, 15, 26})


def storage_error(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _STORAGE_CODES
    return isinstance(exc, sqlite3.OperationalError)
