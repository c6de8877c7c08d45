"""Checking a ledger file when it is opened: SQLite's own check, the schema's shape, the open rows' values.

A ledger with a corrupt page, a table of another shape under the right `user_version`, or a row
whose instant is not one (a bad date, a BLOB) used to pass the open and make `run` or `status`
die later with a traceback (the daemon when the first alert was due). `check_ledger` finds each
of these at open and raises one `LedgerError` line naming the path and what is wrong.

`SCHEMAS` describes each schema version's tables; a later version adds its entry (and its
migration in ledger.py), and the same checks cover it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from alertd.store.base import StoreError

__all__ = ["SCHEMAS", "Table", "check_ledger"]


@dataclass(frozen=True)
class Table:
    """A table's columns in order; which hold instants (`fmt` text), which may be NULL, which are integers.

    `at_open`: which rows have their values checked at open (an SQL condition), or None for none:
    the rows a start reads in bulk. A full scan costs seconds on a ledger of years; every other
    row is checked as it is read (ledger.py raises the same one-line error then).
    """

    columns: tuple[str, ...]
    instants: tuple[str, ...] = ()
    nullable: tuple[str, ...] = ()
    integers: tuple[str, ...] = ()
    at_open: str | None = None


SCHEMAS: dict[int, dict[str, Table]] = {
    1: {
        "deliveries": Table(
            columns=("key", "deadline_id", "lead", "due", "channel", "fire_at", "state", "reason", "attempts",
                     "first_attempt_at", "last_attempt_at", "sent_at", "next_retry_at", "last_error", "updated_at"),
            instants=("due", "fire_at", "first_attempt_at", "last_attempt_at", "sent_at", "next_retry_at",
                      "updated_at"),
            nullable=("reason", "first_attempt_at", "last_attempt_at", "sent_at", "next_retry_at", "last_error"),
            integers=("attempts",),
            at_open="state IN ('pending', 'sending')",  # through the partial index deliveries_open
        ),
        "deadlines_seen": Table(columns=("deadline_id", "due", "first_seen"), instants=("due", "first_seen")),
    },
}
# Version 2 (sqlite_schema.py): two columns on deliveries, and what people did about a deadline's due.
SCHEMAS[2] = {
    **SCHEMAS[1],
    "deliveries": Table(
        columns=(*SCHEMAS[1]["deliveries"].columns, "kind", "action_id"),
        instants=SCHEMAS[1]["deliveries"].instants,
        nullable=(*SCHEMAS[1]["deliveries"].nullable, "kind", "action_id"),
        integers=("attempts", "action_id"),
        at_open=SCHEMAS[1]["deliveries"].at_open,
    ),
    "deadline_actions": Table(columns=("id", "deadline_id", "due", "act", "who", "note", "until", "at"),
                              instants=("due", "until", "at"), nullable=("note", "until"), integers=("id",)),
    "deadline_state": Table(columns=("deadline_id", "due", "acked", "snoozed", "done"), instants=("due",),
                            nullable=("acked", "snoozed", "done"), integers=("acked", "snoozed", "done")),
}
# Version 3: keys alertd made for itself (the action-link key), by name.
SCHEMAS[3] = {**SCHEMAS[2], "keys": Table(columns=("name", "value", "created_at"), instants=("created_at",))}

# `fmt`'s fixed-width UTC text, a real date and time (SQLite's date() and time() give back what they
# were given only for valid ones: 2021-02-30 comes back as 2021-03-02, 2021-13-01 as NULL; `IS`,
# not `=`, so that a NULL makes the test false rather than unknown).
_INSTANT = ("(typeof({c}) = 'text' AND {c} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:"
            "[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z' AND substr({c}, 1, 4) != '0000' "
            "AND date(substr({c}, 1, 10)) IS substr({c}, 1, 10) AND time(substr({c}, 12, 8)) IS substr({c}, 12, 8))")


class _Problem(StoreError):
    pass


def check_ledger(conn: sqlite3.Connection, path: Path, version: int, *, error: type[StoreError] = _Problem) -> None:
    """Raise `error` (one line naming `path`) unless the ledger is sound: pages, schema shape, values."""
    rows = conn.execute("PRAGMA quick_check(1)").fetchall()
    if rows != [("ok",)]:
        detail = rows[0][0] if rows else "no answer"
        raise error(f"ledger {path} is corrupt (SQLite's quick_check: {detail}); move it away and restart "
                    "(alertd starts a new one; deliveries it held may be sent again)")
    tables = SCHEMAS.get(version)
    if tables is None:
        raise error(f"ledger {path} has schema version {version}, which this alertd does not know")
    for name, table in tables.items():
        found = tuple(r[1] for r in conn.execute(f"PRAGMA table_info({name})"))
        if found != table.columns:
            what = "has no table" if not found else "has a table"
            raise error(f"ledger {path} {what} {name!r} of the shape schema version {version} defines "
                        f"(found columns: {', '.join(found) or 'none'}); it is not an alertd ledger or was changed "
                        "by hand: move it away")
        _check_values(conn, path, name, table, error)


def _check_values(conn: sqlite3.Connection, path: Path, name: str, table: Table, error: type[StoreError]) -> None:
    if table.at_open is None:
        return
    tests = []
    for c in table.columns:
        if c in table.instants:
            test = _INSTANT.format(c=c)
        elif c in table.integers:
            test = f"typeof({c}) = 'integer'"
        else:
            test = f"typeof({c}) = 'text'"
        if c in table.nullable:
            test = f"({c} IS NULL OR {test})"
        tests.append((c, test))
    bad = f"{table.at_open} AND (" + " OR ".join(f"NOT {t}" for _, t in tests) + ")"
    if conn.execute(f"SELECT 1 FROM {name} WHERE {bad} LIMIT 1").fetchone() is None:  # noqa: S608 - constant names
        return
    count = conn.execute(f"SELECT count(*) FROM {name} WHERE {bad}").fetchone()[0]  # noqa: S608 - constant names
    # which column (a scan each: only when something is wrong)
    first_of = f"SELECT {table.columns[0]} FROM {name} WHERE {table.at_open} AND NOT "  # noqa: S608 - constant names
    found = ((c, conn.execute(f"{first_of}{t} LIMIT 1").fetchone()) for c, t in tests)
    column, first = next(((c, f) for c, f in found if f is not None), ("?", None))
    ident = first[0] if first is not None else None
    shown = repr(ident) if isinstance(ident, str) and ident.isprintable() and len(ident) <= 80 else (
        f"(a {type(ident).__name__})")
    raise error(f"ledger {path}: {count} row{'s' if count != 1 else ''} of {name!r} hold{'s' if count == 1 else ''} "
                f"a value alertd cannot read (first: {table.columns[0]} {shown}, column {column}); "
                "move the file away, or delete those rows with the sqlite3 shell")
