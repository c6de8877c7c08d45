"""Keys alertd makes for itself and keeps in the SQLite ledger: the `keys` half of `Ledger`.

The action-link key signs the `/a/TOKEN` links in messages. It is made once (32 random bytes from
the OS) by whichever process first needs it, in one `BEGIN IMMEDIATE` transaction, and read back
by every later start, so links sent before a restart still work after it. Its value is never
logged or shown.
"""

from __future__ import annotations

import secrets
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from alertd.store.ledger_state import LedgerError
from alertd.store.rows import fmt

__all__ = ["LINK_KEY", "KeyTable", "new_key"]

LINK_KEY = "link"
KEY_BYTES = 32  # HMAC-SHA256's block is 64 bytes; 32 random bytes is its full strength


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


class KeyTable:
    """`link_key()` of the `Store` protocol (base.py) on the ledger's connection."""

    conn: sqlite3.Connection
    path: Path
    readonly: bool

    def link_key(self) -> bytes:
        """The key that signs action links: made on first use, the same ever after.

        Raises StoreError when there is none yet and the ledger is open read-only, or when the key
        kept is not one (changed by hand).
        """
        row = self.conn.execute("SELECT value FROM keys WHERE name = ?", (LINK_KEY,)).fetchone()
        if row is None:
            if self.readonly:
                raise LedgerError(f"ledger {self.path} holds no action-link key yet: `alertd run` makes it")
            try:
                with self.conn:
                    self.conn.execute("BEGIN IMMEDIATE")  # two processes making it at once keep the first
                    self.conn.execute("INSERT OR IGNORE INTO keys (name, value, created_at) VALUES (?, ?, ?)",
                                      (LINK_KEY, new_key(), fmt(datetime.now(UTC))))
            except sqlite3.Error as exc:
                raise LedgerError(f"cannot write the action-link key to ledger {self.path}: {exc}") from None
            row = self.conn.execute("SELECT value FROM keys WHERE name = ?", (LINK_KEY,)).fetchone()
        if not isinstance(row[0], bytes) or len(row[0]) < 16:
            raise LedgerError(f"ledger {self.path}: the action-link key it holds is not one (changed by hand?); "
                             "delete its row from `keys` and restart (links sent so far stop working)")
        return row[0]
