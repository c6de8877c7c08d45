"""The ledger when its storage fails: writes kept in memory and read through, written once it can,
and files that are corrupt, foreign or unreadable refused at open with one line naming the path."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alertd.store.base import NewRow
from alertd.store.ledger import SCHEMA_VERSION, Ledger, LedgerError
from alertd.store.lock import StateLock, StateLockError
from tests.smalldisk import small_disk

NOW = datetime(2021, 5, 20, 21, 0, tzinfo=UTC)
DUE = datetime(2021, 5, 21, 21, 0, tzinfo=UTC)
KEYS = [f"k{i}" for i in range(6)]


def new(key: str, state: str = "pending", reason: str | None = None) -> NewRow:
    return NewRow(key, f"d-{key}", "P1D", DUE, "hook", NOW, state, reason)


def random_writes(rng: random.Random, n: int) -> list[tuple[str, tuple]]:
    out: list[tuple[str, tuple]] = []
    t = NOW
    for _ in range(n):
        t += timedelta(seconds=rng.randint(1, 90), microseconds=rng.randint(0, 999_999))
        key = rng.choice(KEYS)
        op = rng.choice(["record", "record", "sending", "sent", "retry", "finish", "see"])
        if op == "record":
            rows = [new(k, rng.choice(["pending", "superseded", "missed"]), rng.choice([None, "why"]))
                    for k in rng.sample(KEYS, rng.randint(1, 3))]
            out.append(("record", (rows, t)))
        elif op == "retry":
            out.append(("retry", (key, t + timedelta(seconds=30), f"HTTP 500 #{rng.randint(1, 9)}", t)))
        elif op == "finish":
            out.append(("finish", (key, rng.choice(["failed", "superseded", "missed"]), "why",
                                   t, rng.choice([None, "boom"]))))
        elif op == "see":
            out.append(("see", ([(f"d-{k}", DUE + timedelta(days=rng.randint(0, 2))) for k in rng.sample(KEYS, 2)], t)))
        else:
            out.append((op, (key, t)))
    return out


def do(ledger: Ledger, write: tuple[str, tuple]) -> None:
    op, args = write
    if op == "record":
        ledger.record(args[0], now=args[1])
    elif op == "see":
        ledger.see(args[0], now=args[1])
    elif op == "sending":
        ledger.mark_sending(args[0], now=args[1])
    elif op == "sent":
        ledger.apply_marks([("sent", args[0], args[1])])
    elif op == "retry":
        ledger.mark_retry(args[0], at=args[1], error=args[2], now=args[3])
    else:
        ledger.finish(args[0], args[1], reason=args[2], now=args[3], error=args[4])


def view(ledger: Ledger) -> tuple:
    pairs = [(f"d-{k}", DUE + timedelta(days=d)) for k in KEYS for d in range(3)]
    return ({k: ledger.get(k) for k in KEYS}, ledger.rows(KEYS), sorted(ledger.unfinished(), key=lambda r: r.key),
            ledger.first_seen(pairs))


@pytest.mark.parametrize("seed", range(8))
def test_writes_the_storage_refuses_read_as_written_and_are_written_later(tmp_path: Path, seed: int) -> None:
    """Same writes, two ledgers: one writes them at once, the other while another connection holds
    the write lock (SQLite answers BUSY: a real refusal). Reads agree throughout, files at the end."""
    rng = random.Random(seed)
    writes = random_writes(rng, 60)
    direct = Ledger.open(tmp_path / "direct.sqlite3")
    held = Ledger.open(tmp_path / "held.sqlite3")
    held.conn.execute("PRAGMA busy_timeout = 0")
    other = sqlite3.connect(tmp_path / "held.sqlite3", isolation_level=None)
    cut = rng.randint(5, 40)
    for i, write in enumerate(writes):
        if i == cut:
            other.execute("BEGIN IMMEDIATE")  # from here on the held ledger cannot write
        do(direct, write)
        do(held, write)
        assert view(held) == view(direct), (i, write)
    assert held.unwritten == len(writes) - cut
    assert held.retry_unwritten() is False or held.unwritten == 0  # still refused (or too soon to try)
    other.execute("ROLLBACK")
    held.pending.next_try = 0.0
    assert held.retry_unwritten() is True and held.unwritten == 0
    reopened = Ledger.open_readonly(tmp_path / "held.sqlite3")
    assert view(reopened) == view(direct)
    for led in (direct, held, reopened):
        led.close()
    other.close()


def test_a_full_disk_keeps_the_writes_and_logs_once_per_episode(tmp_path: Path, capsys) -> None:
    with small_disk(tmp_path / "disk") as disk:
        ledger = Ledger.open(disk.path / "ledger.sqlite3")
        ledger.record([new("a")], now=NOW)
        disk.fill()
        ledger.record([new(f"b{i}") for i in range(200)], now=NOW)  # too big for what is left
        for i in range(200):
            ledger.apply_marks([("sending", f"b{i}", NOW), ("sent", f"b{i}", NOW)])
        assert ledger.unwritten > 0
        assert ledger.get("b7").state == "sent"
        assert capsys.readouterr().out.count("ledger.write_failed") == 1
        disk.free()
        ledger.pending.next_try = 0.0
        assert ledger.retry_unwritten()
        assert "ledger.write_recovered" in capsys.readouterr().out
        ledger.close()
        with Ledger.open_readonly(disk.path / "ledger.sqlite3") as again:
            assert again.counts() == {"pending": 1, "sent": 200}


def test_a_ledger_that_cannot_be_written_is_refused_at_open(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        Ledger.open(disk.path / "ledger.sqlite3").close()
        disk.read_only()
        try:
            with pytest.raises(LedgerError, match=r"cannot write ledger .*ledger\.sqlite3: the file or its "
                                                  r"directory is read-only"):
                Ledger.open(disk.path / "ledger.sqlite3")
            with Ledger.open_readonly(disk.path / "ledger.sqlite3") as reader:  # status still reads it
                assert reader.counts() == {}
        finally:
            disk.read_only(False)


def make(tmp_path: Path, rows: int = 50) -> Path:
    path = tmp_path / "ledger.sqlite3"
    with Ledger.open(path) as ledger:
        ledger.record([new(f"k{i:03d}") for i in range(rows)], now=NOW)
    return path


def test_a_corrupt_page_is_found_at_open_not_at_the_first_alert(tmp_path: Path) -> None:
    path = make(tmp_path, rows=400)
    size = path.stat().st_size
    with path.open("r+b") as f:  # scribble over a page in the middle: an index or table page
        f.seek((size // 4096 // 2) * 4096 + 100)
        f.write(b"\xa5" * 2000)
    for opener in (Ledger.open, Ledger.open_readonly):
        with pytest.raises(LedgerError, match=rf"ledger {path} is (corrupt|unusable)"):
            opener(path)


@pytest.mark.parametrize(("version", "openers"), [(SCHEMA_VERSION, (Ledger.open, Ledger.open_readonly)),
                                                 (1, (Ledger.open,))])  # an old one: before migrating it
def test_a_table_of_another_shape_under_the_right_version_is_refused(tmp_path: Path, version: int, openers) -> None:
    path = tmp_path / "ledger.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE deliveries (key TEXT PRIMARY KEY, state TEXT); "
                       f"CREATE TABLE deadlines_seen (deadline_id, due, first_seen); PRAGMA user_version = {version};")
    conn.close()
    for opener in openers:
        with pytest.raises(LedgerError, match=rf"ledger {path} has a table 'deliveries' of the shape .* "
                                              r"\(found columns: key, state\)"):
            opener(path)


@pytest.mark.parametrize(("column", "value"), [("fire_at", "2021-13-45T99:00:00.000000Z"),
                                               ("due", b"\x00blob"), ("attempts", "many"),
                                               ("next_retry_at", "yesterday"), ("updated_at", None)])
def test_an_open_row_with_an_unreadable_value_is_refused_at_open(tmp_path: Path, column: str, value: object) -> None:
    path = make(tmp_path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("PRAGMA ignore_check_constraints = 1")
        conn.execute("CREATE TABLE t AS SELECT * FROM deliveries")  # no NOT NULL: rebuild without constraints
        conn.execute("DROP TABLE deliveries")
        conn.execute("ALTER TABLE t RENAME TO deliveries")
        conn.execute(f"UPDATE deliveries SET {column} = ? WHERE key = 'k007'", (value,))
    conn.close()
    for opener in (Ledger.open, Ledger.open_readonly):
        with pytest.raises(LedgerError) as caught:
            opener(path)
        assert str(caught.value) == (
            f"ledger {path}: 1 row of 'deliveries' holds a value alertd cannot read (first: key 'k007', column "
            f"{column}); move the file away, or delete those rows with the sqlite3 shell")


def test_a_final_row_with_an_unreadable_value_is_refused_when_read(tmp_path: Path) -> None:
    path = make(tmp_path)
    with Ledger.open(path) as ledger:
        ledger.finish("k003", "failed", reason="permanent", now=NOW)
        ledger.conn.execute("UPDATE deliveries SET sent_at = x'00ff' WHERE key = 'k003'")
    with Ledger.open_readonly(path) as reader:  # not an open row: not scanned at open (years of rows)
        with pytest.raises(LedgerError) as caught:
            reader.failures()
        assert str(caught.value) == (f"ledger {path}: a row of 'deliveries' holds a value alertd cannot read (row "
                                     "'k003', column sent_at); move the file away, or delete the row with the "
                                     "sqlite3 shell")


def test_the_state_lock_is_taken_once_and_names_its_holder(tmp_path: Path) -> None:
    lock = StateLock.acquire(tmp_path / "state")
    try:
        with pytest.raises(StateLockError) as caught:
            StateLock.acquire(tmp_path / "state")
        import os  # noqa: PLC0415

        assert str(caught.value) == (f"state directory {tmp_path / 'state'} is in use by another alertd "
                                     f"(pid {os.getpid()}): one daemon per state directory")
    finally:
        lock.release()
    StateLock.acquire(tmp_path / "state").release()  # released with its descriptor


def test_the_channels_that_got_repeats_read_through_the_writes_the_storage_refused(tmp_path: Path) -> None:
    """received_after_due (who gets an ack's notice) sees queued writes applied, as every other read."""
    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger.open(path)
    ledger.conn.execute("PRAGMA busy_timeout = 0")
    at = DUE + timedelta(minutes=30)
    ledger.record([NewRow(k, "d", "-PT30M", DUE, k, at, "pending", kind="deadline.overdue") for k in ("ops", "duty")],
                  now=at)
    ledger.mark_sending("ops", now=at)  # written: ops is being sent
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # from here on the ledger cannot write
    try:
        ledger.mark_retry("ops", at=at + timedelta(minutes=1), error="HTTP 503", now=at)  # ops failed: not received
        ledger.mark_sending("duty", now=at)  # duty is being sent
        assert ledger.unwritten == 2
        assert ledger.received_after_due("d", DUE, before=at) == ["duty"]
    finally:
        other.execute("ROLLBACK")
        other.close()
    ledger.pending.next_try = 0.0
    assert ledger.retry_unwritten()
    assert ledger.received_after_due("d", DUE, before=at) == ["duty"]
    ledger.close()
