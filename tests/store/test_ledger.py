"""The SQLite ledger on real files: WAL, schema version, bad files, readers.

What every engine does alike (states, resumable rows, first seen) is in test_store.py, run on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from alertd.store.base import NewRow
from alertd.store.ledger import SCHEMA_VERSION, Ledger, LedgerError

NOW = datetime(2021, 5, 20, 21, 0, tzinfo=UTC)
DUE = datetime(2021, 5, 21, 21, 0, tzinfo=UTC)


def new(key="k1", state="pending", reason=None) -> NewRow:
    return NewRow(key, "d", "P1D", DUE, "hook", NOW, state, reason)


@pytest.fixture
def ledger(tmp_path):
    led = Ledger.open(tmp_path / "state" / "ledger.sqlite3")
    yield led
    led.close()


def test_it_creates_a_wal_ledger_with_a_schema_version(ledger):
    assert ledger.version == SCHEMA_VERSION
    assert ledger.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"









def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    Ledger.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(LedgerError, match="newer"):
        Ledger.open(path)


def test_a_corrupt_file_is_refused_naming_the_path(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"this is not a database, just junk " * 200)
    with pytest.raises(LedgerError, match=str(path)):
        Ledger.open(path)


def test_an_unusable_state_directory_is_refused_naming_it(tmp_path):
    (tmp_path / "file").write_text("x")
    path = tmp_path / "file" / "state" / "ledger.sqlite3"
    with pytest.raises(LedgerError, match=str(path.parent)):
        Ledger.open(path)


def test_a_foreign_database_is_refused(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE other (x)")
    with pytest.raises(LedgerError, match="not an alertd ledger"):
        Ledger.open(path)


def test_a_reader_can_open_it_read_only_while_the_daemon_writes(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    with Ledger.open(path) as writer:
        writer.record([new("a")], now=NOW)
        with Ledger.open_readonly(path) as reader:
            assert [r.key for r in reader.next()] == ["a"]
            writer.mark_sending("a", now=NOW)
            writer.mark_sent("a", now=NOW)
            assert [(r.key, r.state) for r in reader.recent()] == [("a", "sent")]
            with pytest.raises(LedgerError, match="is open read-only"):
                reader.record([new("b")], now=NOW)


def test_reading_a_missing_ledger_names_the_path(tmp_path):
    with pytest.raises(LedgerError, match=str(tmp_path / "none.sqlite3")):
        Ledger.open_readonly(tmp_path / "none.sqlite3")
