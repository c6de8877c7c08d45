"""Ledger rows as text in SQLite and as `Row`s here: instants' fixed-width text, and reading it back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from alertd.store.base import Row
from alertd.store.integrity import SCHEMAS

__all__ = ["COLUMNS", "fmt", "parse", "row_from_sql", "unreadable"]

COLUMNS = ("key, deadline_id, lead, due, channel, fire_at, state, reason, attempts, first_attempt_at, "
           "last_attempt_at, sent_at, next_retry_at, last_error, updated_at, kind, action_id")


def fmt(instant: datetime) -> str:
    """Fixed-width UTC text, so that text order is time order (`2021-05-20T21:00:00.000000Z`)."""
    if instant.tzinfo is not UTC:
        instant = instant.astimezone(UTC)
    return instant.isoformat(timespec="microseconds")[:26] + "Z"


def parse(text: str | None) -> datetime | None:
    """The instant `fmt` wrote (fromisoformat reads the Z form since Python 3.11; 10x strptime)."""
    return None if text is None else datetime.fromisoformat(text)


def row_from_sql(r: Sequence) -> Row:
    """A `deliveries` row as SELECTed in COLUMNS order; raises TypeError/ValueError for bad values."""
    return Row(r[0], r[1], r[2], parse(r[3]), r[4], parse(r[5]), r[6], r[7], r[8], parse(r[9]),  # type: ignore[arg-type]
               parse(r[10]), parse(r[11]), parse(r[12]), r[13], parse(r[14]), r[15], r[16])  # type: ignore[arg-type]


_ROW_TYPES = (str, str, str, str, str, str, str, (str, type(None)), int, *((str, type(None)),) * 6, (str, type(None)),
              (int, type(None)))


def unreadable(path: Path, table: str, values: Sequence, version: int) -> str:
    """The one-line message for a row `row_from_sql` (or `parse`) could not read: which row, which column."""
    ident = values[0]
    columns = SCHEMAS[version][table].columns
    column = "?"
    for name, value, kind in zip(columns, values, _ROW_TYPES if table == "deliveries" else (str,) * 3, strict=False):
        if not isinstance(value, kind) or (name in SCHEMAS[version][table].instants and value is not None
                                           and _bad_instant(value)):
            column = name
            break
    shown = repr(ident) if isinstance(ident, str) and ident.isprintable() and len(ident) <= 80 else "(unprintable)"
    return (f"ledger {path}: a row of {table!r} holds a value alertd cannot read (row {shown}, column {column}); "
            "move the file away, or delete the row with the sqlite3 shell")


def _bad_instant(value: object) -> bool:
    try:
        parse(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True
    return False
