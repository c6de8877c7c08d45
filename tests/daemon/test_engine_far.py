"""Deadlines far ahead at start-up wait in the timetable as bounds (due minus the leads' reach),
refined only when they reach the top; a reload that re-reads, moves, removes or adds one back
must still give exactly the alerts of the config in force, each decided once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from alertd.core.leads import parse_lead
from alertd.core.model import Deadline
from alertd.core.timerules import parse_due
from alertd.daemon.engine import Engine
from alertd.daemon.timetable import Timetable
from alertd.store.ledger import Ledger
from tests.daemon.test_engine_burst import Recorder

AT = datetime(2030, 1, 1, 0, 0, tzinfo=UTC)
START = AT - timedelta(days=30)  # every alert is far ahead at start-up


def deadline(deadline_id: str, due: str = "2030-01-01T00:00:00Z") -> Deadline:
    written = parse_due(due)
    return Deadline(id=deadline_id, title=deadline_id, timezone="UTC", written=written, due=written.instant,
                    leads=(parse_lead("1d"), parse_lead("0")), channels=("hook",))


def started(tmp_path, items: list[Deadline]) -> tuple[Engine, Recorder]:
    sent = Recorder()
    eng = Engine(items, ledger=Ledger.open(tmp_path / "ledger.sqlite3"), timetable=Timetable(), dispatcher=sent,
                 window=timedelta(hours=1))
    asked: list[str] = []
    refine = eng.timetable.refine
    assert refine is not None
    eng.timetable.refine = lambda deadline_id: (asked.append(deadline_id), refine(deadline_id))[1]
    eng.start(START)
    assert len(eng.timetable) == len(items)
    assert asked == []  # nothing near: every deadline waits as a bound, no alert instant computed yet
    return eng, sent


def run_until(eng: Engine, end: datetime) -> list[datetime]:
    """Wake as the daemon would, at each next instant up to `end`; the instants woken at."""
    woke = []
    while (nxt := eng.timetable.next_instant()) is not None and nxt <= end:
        woke.append(nxt)
        eng.run_due(nxt)
        while eng.backlog:
            eng.run_due(nxt)
    return woke


def test_far_deadlines_fire_each_alert_once(tmp_path) -> None:
    eng, sent = started(tmp_path, [deadline("a"), deadline("b", "2030-01-05T12:00:00Z")])
    assert run_until(eng, AT + timedelta(days=10)) == [
        AT - timedelta(days=1), AT, datetime(2030, 1, 4, 12, tzinfo=UTC), datetime(2030, 1, 5, 12, tzinfo=UTC)]
    assert len(sent.keys) == len(set(sent.keys)) == 4


def test_a_far_deadline_re_read_by_a_reload_still_fires(tmp_path) -> None:
    d = deadline("a")
    eng, sent = started(tmp_path, [d])
    copy = replace(d)  # what a reload that re-read the file holds: equal, not the same object
    assert copy == d and copy is not d
    assert eng.replace([copy], START + timedelta(days=1)) == (0, 0, 0)
    assert run_until(eng, AT + timedelta(days=1)) == [AT - timedelta(days=1), AT]
    assert len(sent.keys) == 2


def test_a_far_deadline_moved_by_a_reload_fires_at_its_new_time_only(tmp_path) -> None:
    d = deadline("a")
    eng, sent = started(tmp_path, [d, deadline("b", "2030-01-03T00:00:00Z")])
    moved = deadline("a", "2030-01-02T00:00:00Z")
    assert eng.replace([moved, eng.deadlines["b"]], START + timedelta(days=1)) == (0, 1, 0)
    assert run_until(eng, AT + timedelta(days=5)) == [AT, AT + timedelta(days=1), AT + timedelta(days=2)]
    assert len(sent.keys) == 4


def test_a_far_deadline_removed_by_a_reload_never_fires(tmp_path) -> None:
    eng, sent = started(tmp_path, [deadline("a"), deadline("b", "2030-01-03T00:00:00Z")])
    assert eng.replace([eng.deadlines["b"]], START + timedelta(days=1)) == (0, 0, 1)
    assert run_until(eng, AT + timedelta(days=5)) == [AT + timedelta(days=1), AT + timedelta(days=2)]
    assert len(sent.keys) == 2


def test_a_far_deadline_removed_then_added_back_is_decided_once(tmp_path) -> None:
    x, y = deadline("x", "2030-01-31T00:00:00Z"), deadline("y", "2030-01-02T00:00:00Z")
    eng, _ = started(tmp_path, [x, y])
    decided: list[str] = []
    decide = eng.decide_steps  # (every decision goes through it: replan's and run_due's)
    eng.decide_steps = lambda ds, now: (decided.extend(d.id for d in ds), decide(ds, now))[1]  # type: ignore[method-assign]
    eng.replace([y], START + timedelta(hours=1))
    back = datetime(2030, 1, 30, 12, tzinfo=UTC)  # after x's 1-day alert: decided as the reload applies
    eng.replace([y, replace(x)], back)  # equal to the one in the far list, but added anew
    assert decided == ["x"]
    eng.run_due(back)
    eng.run_due(back + timedelta(seconds=1))
    assert decided == ["x", "y"]  # y's alerts passed long ago (nothing sent); x is not decided again
    assert eng.timetable.next_instant() == AT + timedelta(days=30)
