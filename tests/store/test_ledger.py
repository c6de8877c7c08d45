"""The SQLite ledger on real files: states, resumable rows, schema version, bad files."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

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


def test_a_delivery_goes_pending_sending_sent(ledger):
    ledger.record([new()], now=NOW)
    assert ledger.get("k1").state == "pending"
    ledger.mark_sending("k1", now=NOW + timedelta(seconds=1))
    row = ledger.get("k1")
    assert (row.state, row.attempts, row.first_attempt_at) == ("sending", 1, NOW + timedelta(seconds=1))
    ledger.mark_sent("k1", now=NOW + timedelta(seconds=2))
    row = ledger.get("k1")
    assert (row.state, row.sent_at, row.fire_at, row.due) == ("sent", NOW + timedelta(seconds=2), NOW, DUE)


def test_a_retry_keeps_its_instant_and_error(ledger):
    ledger.record([new()], now=NOW)
    ledger.mark_sending("k1", now=NOW)
    ledger.mark_retry("k1", at=NOW + timedelta(seconds=5), error="HTTP 503", now=NOW)
    ledger.mark_sending("k1", now=NOW + timedelta(seconds=5))
    ledger.finish("k1", "failed", reason="permanent", error="HTTP 404", now=NOW + timedelta(seconds=6))
    row = ledger.get("k1")
    assert (row.state, row.reason, row.attempts, row.last_error, row.first_attempt_at, row.last_attempt_at) == (
        "failed", "permanent", 2, "HTTP 404", NOW, NOW + timedelta(seconds=5))
    assert [r.key for r in ledger.failures()] == ["k1"]


def test_rows_left_sending_by_a_crash_are_found_on_reopen(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    led = Ledger.open(path)
    led.record([new("a"), new("b"), new("c")], now=NOW)
    led.mark_sending("a", now=NOW)
    led.mark_sending("b", now=NOW)
    led.mark_sent("b", now=NOW)
    del led  # no close: as if the process died
    again = Ledger.open(path)
    assert {(r.key, r.state) for r in again.unfinished()} == {("a", "sending"), ("c", "pending")}
    again.close()


def test_recording_never_reopens_a_final_row(ledger):
    ledger.record([new()], now=NOW)
    ledger.mark_sending("k1", now=NOW)
    ledger.mark_sent("k1", now=NOW)
    ledger.record([new(state="superseded", reason="x")], now=NOW)
    assert ledger.get("k1").state == "sent"


def test_recording_closes_an_open_row(ledger):
    ledger.record([new()], now=NOW)
    ledger.mark_retry("k1", at=NOW + timedelta(hours=1), error="timed out", now=NOW)
    ledger.record([new(state="superseded", reason="superseded_by_later_alert")], now=NOW)
    row = ledger.get("k1")
    assert (row.state, row.reason, row.next_retry_at) == ("superseded", "superseded_by_later_alert", None)


def test_rows_looks_up_many_keys(ledger):
    ledger.record([new(f"k{i}") for i in range(1200)], now=NOW)
    found = ledger.rows([f"k{i}" for i in range(0, 2400, 2)])
    assert len(found) == 600
    assert ledger.counts() == {"pending": 1200}


def test_first_seen_keeps_the_first_time(ledger):
    ledger.see([("d", DUE)], now=NOW)
    ledger.see([("d", DUE), ("e", DUE)], now=NOW + timedelta(hours=1))
    assert ledger.first_seen([("d", DUE), ("e", DUE), ("f", DUE)]) == {
        ("d", DUE): NOW, ("e", DUE): NOW + timedelta(hours=1)}


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
