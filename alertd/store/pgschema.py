# ruff: noqa: S608 - the only interpolated SQL text is the constant schema name
"""The PostgreSQL schema: numbered migrations applied at start, once, whoever starts first.

The migrations are the files `sql/postgres/NNN_*.sql` beside this module, applied in order;
`alertd.schema_version` has one row per applied version, and a start applies every shipped
migration that has no row there: the schema's version is the highest applied. The numbers may
have gaps while independent changes are made side by side (003 is written not to need 002); a
database that got 003 first gets 002 when an alertd that ships it starts. Several instances starting at once
against an empty database each open a transaction and take a TRANSACTION-level advisory lock
(`pg_advisory_xact_lock`) before reading the version: one creates the schema, the others wait
for its commit, then find it current. The lock ends with the transaction, so it also works
behind a transaction-pooling pgbouncer, where a session-level lock would be held by whichever
server connection happened to run it.
"""

from __future__ import annotations

import re
from importlib.resources import files

import psycopg

from alertd.store.base import StoreError

__all__ = ["LOCK_KEY", "SCHEMA", "SCHEMA_VERSION", "migrate", "migrations", "queries", "version"]

SCHEMA = "alertd"
LOCK_KEY = int.from_bytes(b"alertd:m", "big") & 0x7FFF_FFFF_FFFF_FFFF  # one advisory lock id for migrations
_SQL = files("alertd.store") / "sql" / "postgres"
_MIGRATION = re.compile(r"(\d{3})_[a-z0-9_]+\.sql")
_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every migration shipped, in order."""
    found = []
    for entry in _SQL.iterdir():
        m = _MIGRATION.fullmatch(entry.name)
        if m:
            found.append((int(m[1]), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [v for v, _, _ in found]
    if not numbers or numbers[0] != 1 or len(set(numbers)) != len(numbers):
        raise StoreError(f"PostgreSQL migrations are not numbered from 1, once each: {[n for _, n, _ in found]}")
    return found


SCHEMA_VERSION = migrations()[-1][0]


def queries() -> dict[str, str]:
    """The engine's statements from `queries.sql`, by name."""
    text = (_SQL / "queries.sql").read_text(encoding="utf-8")
    parts = _NAME.split(text)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def version(conn: psycopg.Connection) -> int:
    """The schema version the database holds; 0 when alertd never created its schema there."""
    exists = conn.execute("SELECT to_regclass('alertd.schema_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT max(version) FROM alertd.schema_version").fetchone()
    return (row[0] if row else None) or 0


def _applied(conn: psycopg.Connection) -> set[int]:
    if not version(conn):
        return set()
    return {r[0] for r in conn.execute("SELECT version FROM alertd.schema_version")}


def migrate(conn: psycopg.Connection, *, applied_by: str) -> tuple[int, int]:
    """Bring the schema to SCHEMA_VERSION in one transaction; returns (version before, after).

    Raises StoreError when the database holds a newer schema than this alertd knows.
    """
    with conn.transaction():
        # DDL and waiting for another instance's migration may take longer than a normal statement.
        conn.execute("SET LOCAL statement_timeout = '60s'")
        conn.execute("SET LOCAL lock_timeout = '60s'")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        before = version(conn)
        if before > SCHEMA_VERSION:
            raise StoreError(f"the database has alertd schema version {before}, newer than this alertd "
                             f"understands ({SCHEMA_VERSION}); run a newer alertd")
        applied = _applied(conn)
        missing = [m for m in migrations() if m[0] not in applied]
        if not missing:
            return before, before
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_version ("
                     "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), "
                     "applied_by text NOT NULL, file text NOT NULL)")
        for number, name, sql in missing:
            conn.execute(sql)  # several statements: without parameters psycopg sends them as one simple query
            conn.execute(f"INSERT INTO {SCHEMA}.schema_version (version, applied_by, file) VALUES (%s, %s, %s)",
                         (number, applied_by, name))
    return before, SCHEMA_VERSION
