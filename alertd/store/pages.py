"""Deliveries page by page, filtered (the HTTP API's `GET /api/v1/deliveries`): the SQLite half of
`Store.deliveries` (base.py; the PostgreSQL half is `deliveries_page` in sql/postgres/queries.sql),
and `delivery_item`, the JSON shape of a row that `alertd status --json`, the API and the status
page share.

Newest change first (`updated_at`, then key, both descending), so a page's last row is the cursor
of the next one and rows changed meanwhile do not shift what follows. Writes the storage refused
and that are still held in memory are not seen here (they are seen once written).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from alertd.core.display import rfc3339
from alertd.store.base import DeliveryQuery, Row
from alertd.store.rows import COLUMNS, fmt

__all__ = ["DeliveryPages", "DeliveryQuery", "delivery_item"]


class DeliveryPages:
    """`deliveries()` of the `Store` protocol on the ledger's connection (a part of `Ledger`)."""

    conn: sqlite3.Connection

    def _row(self, r: Sequence) -> Row: ...  # the ledger's: a Row, or LedgerError naming the bad column

    def deliveries(self, q: DeliveryQuery) -> list[Row]:
        """Up to `q.limit` rows matching `q`, newest change first."""
        where, args = [], []
        if q.deadline is not None:
            where.append("deadline_id = ?")
            args.append(q.deadline)
        if q.state is not None:
            where.append("state = ?")
            args.append(q.state)
        if q.since is not None:
            where.append("updated_at >= ?")
            args.append(fmt(q.since))
        if q.after is not None:
            where.append("(updated_at < ? OR (updated_at = ? AND key < ?))")
            args += [fmt(q.after[0]), fmt(q.after[0]), q.after[1]]
        sql = f"SELECT {COLUMNS} FROM deliveries"  # noqa: S608 - the columns are ours; every value is a parameter
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY updated_at DESC, key DESC LIMIT ?"
        return [self._row(r) for r in self.conn.execute(sql, [*args, q.limit])]


def delivery_item(row: Row) -> dict[str, Any]:
    """One ledger row as `alertd status --json` and the HTTP API show it (on a shared database,
    with the instance that sent it: `by`)."""
    item = {
        "alert_id": row.key, "deadline": row.deadline_id, "lead": row.lead, "channel": row.channel,
        "fire_at": rfc3339(row.fire_at), "due": rfc3339(row.due), "state": row.state, "reason": row.reason,
        "attempts": row.attempts, "sent_at": _instant(row.sent_at), "next_retry_at": _instant(row.next_retry_at),
        "updated_at": rfc3339(row.updated_at), "last_error": row.last_error, "kind": row.kind,
    }
    if row.claimed_by is not None:
        item["by"] = row.claimed_by
    return item


def _instant(value: datetime | None) -> str | None:
    return rfc3339(value) if value is not None else None
