"""The ledger's SQLite schema: version 1 as first created, then numbered migrations.

A new ledger is made the way an old one is upgraded: version 1, then every migration in order,
so the upgrade path is the one every ledger takes and the tests exercise. Each migration runs in
one transaction with the `PRAGMA user_version` bump: a failure leaves the file as it was.

Version 2 (acknowledge, repeat, escalate, snooze, done):

    deliveries.kind       the webhook type of the delivery (`deadline.overdue`, `deadline.acknowledged`,
                          ...); NULL in rows from version 1 (reminders and due alerts: their lead says which)
    deliveries.action_id  for a notice, the action it tells of (deadline_actions.id)
    deadline_actions      every ack, snooze, done and reopen that changed something: who, when, a note,
                          a snooze's end; `id` only grows, so a reader follows new ones with `id > last`
    deadline_state        per (deadline_id, due), the ack, snooze and done in force (their action ids);
                          no row: nothing in force. A changed due is another key: it starts afresh.

Version 3 (signed action links):

    keys                  keys alertd made for itself, by name, made once and then kept, so that every
                          restart (and every process reading the ledger) agrees: `link` signs the
                          action links in messages. A key given in the environment is never stored.
"""

from __future__ import annotations

import sqlite3

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "V1", "upgrade"]

V1 = """
CREATE TABLE deliveries (
    key TEXT PRIMARY KEY,
    deadline_id TEXT NOT NULL,
    lead TEXT NOT NULL,
    due TEXT NOT NULL,
    channel TEXT NOT NULL,
    fire_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending','sending','sent','failed','superseded','missed')),
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    first_attempt_at TEXT,
    last_attempt_at TEXT,
    sent_at TEXT,
    next_retry_at TEXT,
    last_error TEXT,
    updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX deliveries_by_deadline ON deliveries (deadline_id, due);
CREATE INDEX deliveries_open ON deliveries (state) WHERE state IN ('pending', 'sending');
CREATE INDEX deliveries_by_update ON deliveries (updated_at);
CREATE TABLE deadlines_seen (
    deadline_id TEXT NOT NULL,
    due TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (deadline_id, due)
) WITHOUT ROWID;
"""

MIGRATIONS = {
    2: """
ALTER TABLE deliveries ADD COLUMN kind TEXT;
ALTER TABLE deliveries ADD COLUMN action_id INTEGER;
CREATE INDEX deliveries_open_by_deadline ON deliveries (deadline_id, due) WHERE state IN ('pending', 'sending');
CREATE TABLE deadline_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    deadline_id TEXT NOT NULL,
    due TEXT NOT NULL,
    act TEXT NOT NULL CHECK (act IN ('ack', 'snooze', 'done', 'reopen')),
    who TEXT NOT NULL,
    note TEXT,
    until TEXT,
    at TEXT NOT NULL
);
CREATE INDEX deadline_actions_by_deadline ON deadline_actions (deadline_id, due);
CREATE TABLE deadline_state (
    deadline_id TEXT NOT NULL,
    due TEXT NOT NULL,
    acked INTEGER REFERENCES deadline_actions (id),
    snoozed INTEGER REFERENCES deadline_actions (id),
    done INTEGER REFERENCES deadline_actions (id),
    PRIMARY KEY (deadline_id, due)
) WITHOUT ROWID;
""",
    3: """
CREATE TABLE keys (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
""",
}
SCHEMA_VERSION = max(MIGRATIONS)


def upgrade(conn: sqlite3.Connection, version: int) -> None:
    """Bring a ledger at `version` (0: empty file) to SCHEMA_VERSION, one transaction per step.

    BEGIN IMMEDIATE takes the write lock before reading the version again, so two processes
    opening an old ledger at once migrate it once.
    """
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    raise ValueError("has tables but no alertd schema version: not an alertd ledger; move it away")
                script, version = V1, 1
            elif version < SCHEMA_VERSION:
                script, version = MIGRATIONS[version + 1], version + 1
            else:
                conn.execute("ROLLBACK")
                return
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
