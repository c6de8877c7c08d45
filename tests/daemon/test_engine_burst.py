"""Many deadlines due at one instant: the engine decides them in chunks, each exactly once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from alertd.core.leads import parse_lead
from alertd.core.model import Deadline
from alertd.core.timerules import parse_due
from alertd.daemon.engine import CHUNK, FIRST_CHUNK, Engine
from alertd.daemon.timetable import Timetable
from alertd.store.ledger import Ledger

AT = datetime(2030, 1, 1, 0, 0, tzinfo=UTC)


class Recorder:
    """Stands in for the dispatcher: records what the engine hands over (nothing is sent here)."""

    def __init__(self) -> None:
        self.busy: set[str] = set()
        self.keys: list[str] = []

    def submit(self, note, *, attempt: int) -> None:
        self.keys.append(note.key)
        self.busy.add(note.key)


def deadlines(n: int) -> list[Deadline]:
    written = parse_due("2030-01-01T00:00:00Z")
    return [Deadline(id=f"d{i:04d}", title=f"D {i}", timezone="UTC", written=written, due=AT,
                     leads=(parse_lead("0"),), channels=("hook",)) for i in range(n)]


def engine(tmp_path, items: list[Deadline]) -> tuple[Engine, Recorder, Ledger]:
    ledger = Ledger.open(tmp_path / "ledger.sqlite3")
    sent = Recorder()
    eng = Engine(items, ledger=ledger, timetable=Timetable(), dispatcher=sent, window=timedelta(hours=1))
    eng.start(AT - timedelta(days=3))
    return eng, sent, ledger


def test_a_burst_is_decided_in_growing_chunks_and_every_alert_once(tmp_path) -> None:
    n = 300
    eng, sent, ledger = engine(tmp_path, deadlines(n))
    eng.run_due(AT)
    assert len(sent.keys) == FIRST_CHUNK  # the first deliveries can start now
    assert len(eng.backlog) == n - FIRST_CHUNK
    sizes = [FIRST_CHUNK]
    while eng.backlog:
        before = len(sent.keys)
        eng.run_due(AT + timedelta(milliseconds=5 * len(sizes)))
        sizes.append(len(sent.keys) - before)
    # short passes first (their deliveries' connections open between them), then CHUNK each
    ramp = [min(CHUNK, FIRST_CHUNK * (1 + k // 2)) for k in range(len(sizes))]  # 5, 5, 10, 10, ...
    assert sizes[:-1] == ramp[:-1] and 0 < sizes[-1] <= ramp[-1]
    assert sizes[2] > sizes[0] and max(sizes) == CHUNK
    assert len(sent.keys) == len(set(sent.keys)) == n
    assert ledger.counts() == {"pending": n}
    eng.run_due(AT + timedelta(seconds=1))
    assert len(sent.keys) == n  # nothing twice


def test_the_next_burst_starts_short_again(tmp_path) -> None:
    later = [replace(d, id=f"late{i}", due=AT + timedelta(hours=1),
                     written=parse_due("2030-01-01T01:00:00Z")) for i, d in enumerate(deadlines(40))]
    eng, sent, _ = engine(tmp_path, deadlines(40) + later)
    eng.run_due(AT)
    while eng.backlog:
        eng.run_due(AT + timedelta(milliseconds=1))
    before = len(sent.keys)
    eng.run_due(AT + timedelta(hours=1))
    assert len(sent.keys) - before == FIRST_CHUNK


def test_a_reload_takes_changed_deadlines_out_of_the_backlog(tmp_path) -> None:
    items = deadlines(CHUNK + 10)
    eng, sent, _ = engine(tmp_path, items)
    eng.run_due(AT)
    waiting = list(eng.backlog)
    moved = replace(eng.deadlines[waiting[0]], due=AT + timedelta(days=1), written=parse_due("2030-01-02T00:00:00Z"))
    gone = waiting[1]
    new = [moved if d.id == moved.id else d for d in items if d.id != gone]
    eng.replace(new, AT + timedelta(milliseconds=1))
    assert moved.id not in eng.backlog and gone not in eng.backlog
    while eng.backlog:
        eng.run_due(AT + timedelta(milliseconds=2))
    decided = set(sent.keys)
    assert len(decided) == len(sent.keys) == CHUNK + 8  # all but the moved and the removed one
