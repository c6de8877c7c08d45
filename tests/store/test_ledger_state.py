"""The ledger's state half on real SQLite files: acts, states, the change probe, the v1 → v2 upgrade."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alertd.core.state import Act, Action, DeadlineState
from alertd.store.base import NewRow
from alertd.store.ledger import SCHEMA_VERSION, Ledger, LedgerError

DUE = datetime(2021, 5, 21, 21, 0, tzinfo=UTC)
T = DUE - timedelta(hours=2)
V1_FILE = Path(__file__).parent / "data" / "ledger-v1.sqlite3"  # made by alertd's version-1 ledger code
REPO = Path(__file__).resolve().parents[2]


def action(act: Act = Act.ACK, *, by: str = "alice", due: datetime = DUE, until: datetime | None = None,
           note: str | None = None, at: datetime = T) -> Action:
    return Action("d", due, act, by, at, note=note, until=until)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "ledger.sqlite3"


@pytest.fixture
def ledger(path: Path):
    led = Ledger.open(path)
    yield led
    led.close()


def test_an_ack_is_recorded_once_with_who_when_and_the_note(ledger: Ledger) -> None:
    recorded, state = ledger.act(action(note="on it"))
    assert recorded is not None and recorded.id == 1
    assert state == DeadlineState(acked=recorded)
    again, same = ledger.act(action(by="bob", at=T + timedelta(minutes=1)))
    assert again is None and same == state  # the first ack stands; nothing new is written
    assert ledger.states() == {("d", DUE): state}
    assert [(a.by, a.note, a.at) for a in ledger.actions_after(0)] == [("alice", "on it", T)]


def test_state_belongs_to_the_due(ledger: Ledger) -> None:
    ledger.act(action())
    assert ledger.states([("d", DUE + timedelta(days=1))]) == {}
    assert set(ledger.states([("d", DUE), ("e", DUE)])) == {("d", DUE)}


def test_snooze_done_and_reopen(ledger: Ledger) -> None:
    snoozed, _ = ledger.act(action(Act.SNOOZE, until=DUE + timedelta(hours=1)))
    done, state = ledger.act(action(Act.DONE, at=T + timedelta(minutes=5)))
    assert state == DeadlineState(snoozed=snoozed, done=done) and state.snoozed.until == DUE + timedelta(hours=1)
    reopened, state = ledger.act(action(Act.REOPEN, at=T + timedelta(minutes=9)))
    assert reopened is not None and state.empty
    assert ledger.states() == {}
    assert [a.act for a in ledger.actions_after(0)] == [Act.SNOOZE, Act.DONE, Act.REOPEN]
    assert [a.id for a in ledger.actions_after(2)] == [3]
    assert ledger.action(2) == done


def test_the_probe_sees_another_connections_commit_and_not_its_own(ledger: Ledger, path: Path) -> None:
    assert ledger.changed() is False
    ledger.act(action())
    assert ledger.changed() is False  # its own write: the caller knows it
    with Ledger.open(path) as other:
        other.act(action(Act.DONE))
    assert ledger.changed() is True
    assert ledger.changed() is False
    assert [a.act for a in ledger.actions_after(1)] == [Act.DONE]


RACE = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from alertd.core.state import Act, Action
from alertd.store.ledger import Ledger
ledger = Ledger.open(Path(sys.argv[1]))
sys.stdin.read()  # start together
due = datetime(2021, 5, 21, 21, tzinfo=UTC)
recorded, _ = ledger.act(Action("d", due, Act.ACK, sys.argv[2], datetime.now(UTC)))
print("recorded" if recorded else "unchanged")
"""


def test_two_racing_acks_make_one_record_and_no_error(path: Path) -> None:
    Ledger.open(path).close()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", RACE, str(path), who], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for who in ("alice", "bob", "carol", "dave")]
    results = [p.communicate("", timeout=30) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, results
    assert sorted(out.strip() for out, _ in results) == ["recorded", "unchanged", "unchanged", "unchanged"]
    with Ledger.open(path) as ledger:
        assert len(ledger.actions_after(0)) == 1


def test_a_version_1_ledger_is_upgraded_in_place_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    shutil.copy(V1_FILE, path)
    before = sqlite3.connect(path)
    assert before.execute("PRAGMA user_version").fetchone()[0] == 1
    rows_v1 = before.execute("SELECT * FROM deliveries ORDER BY key").fetchall()
    before.close()
    with Ledger.open(path) as ledger:
        assert ledger.version == SCHEMA_VERSION == 3
        rows = sorted(ledger.iter_all(), key=lambda r: r.key)
        assert [(r.key, r.state, r.attempts, r.last_error, r.kind) for r in rows] == [
            ("alrt_old", "superseded", 0, None, None), ("alrt_retry", "pending", 1, "HTTP 503", None),
            ("alrt_sent", "sent", 1, None, None)]
        assert [r.key for r in ledger.unfinished()] == ["alrt_retry"]
        assert ledger.first_seen([("us-diplomats-leave-russia", DUE)]) == {
            ("us-diplomats-leave-russia", DUE): datetime(2021, 4, 20, 21, tzinfo=UTC)}
        recorded, _ = ledger.act(Action("us-diplomats-leave-russia", DUE, Act.ACK, "alice", T))
        assert recorded is not None
    after = sqlite3.connect(path)
    assert [r[:15] for r in after.execute("SELECT * FROM deliveries ORDER BY key")] == rows_v1
    after.close()
    with Ledger.open(path) as again:  # opening an upgraded ledger changes nothing
        assert again.version == 3 and len(again.actions_after(0)) == 1


def test_status_reading_a_version_1_ledger_is_told_how_to_upgrade_it(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    shutil.copy(V1_FILE, path)
    with pytest.raises(LedgerError, match="schema version 1; this alertd reads 3: start `alertd run`"):
        Ledger.open_readonly(path)


def test_an_unwritable_store_is_an_error_naming_the_path_and_writes_nothing(ledger: Ledger, path: Path) -> None:
    if os.geteuid() == 0:
        # root writes whatever the mode says: make the file unwritable for everyone by locking it instead
        blocker = sqlite3.connect(path, timeout=0)
        blocker.execute("BEGIN IMMEDIATE")
        ledger.conn.execute("PRAGMA busy_timeout = 100")
    else:
        path.chmod(0o444)
        blocker = None
    try:
        with pytest.raises(LedgerError, match=str(path)):
            ledger.act(action())
    finally:
        if blocker is not None:
            blocker.rollback()
            blocker.close()
    assert ledger.states() == {} and ledger.actions_after(0) == []


def test_open_deliveries_of_a_due_and_the_channels_that_got_repeats(ledger: Ledger) -> None:
    now = DUE + timedelta(minutes=40)
    rows = [NewRow("a", "d", "-PT30M", DUE, "ops", DUE + timedelta(minutes=30), "pending", kind="deadline.overdue"),
            NewRow("b", "d", "-PT15M", DUE, "duty", DUE + timedelta(minutes=15), "pending",
                   kind="deadline.escalation"),
            NewRow("c", "d", "PT0S", DUE, "desk", DUE, "pending", kind="deadline.due"),
            NewRow("e", "d", "-PT1H", DUE, "late", DUE + timedelta(hours=1), "pending", kind="deadline.overdue"),
            NewRow("f", "d", "-PT30M", DUE - timedelta(days=1), "ops", DUE, "pending", kind="deadline.overdue")]
    ledger.record(rows, now=now)
    for key in "abcef":
        ledger.mark_sending(key, now=now)
    ledger.mark_sent("a", now=now)
    ledger.mark_sent("c", now=now)
    assert sorted(r.key for r in ledger.unfinished_for([("d", DUE)])) == ["b", "e"]
    assert ledger.received_after_due("d", DUE, before=now) == ["duty", "ops"]  # sent or being sent; not "late"


def test_processes_opening_an_old_ledger_at_once_upgrade_it_once(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    shutil.copy(V1_FILE, path)
    code = "import sys; from pathlib import Path; from alertd.store.ledger import Ledger; sys.stdin.read(); " \
           "print(Ledger.open(Path(sys.argv[1])).version)"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    results = [p.communicate("", timeout=30) for p in procs]
    assert [out.strip() for out, _ in results] == ["3", "3", "3"], results
    with Ledger.open(path) as ledger:
        assert len(ledger.unfinished()) == 1


def test_the_change_descriptor_wakes_for_another_writer_and_changed_tells_which(ledger: Ledger, path: Path) -> None:
    """An idle daemon waits on this descriptor instead of asking four times a second."""
    import select  # noqa: PLC0415

    fd = ledger.change_fd()
    assert fd is not None, "inotify is there on Linux"
    assert select.select([fd], [], [], 0)[0] == []
    ledger.act(action())  # its own commit: the descriptor fires, but nothing changed for it
    assert select.select([fd], [], [], 5)[0] == [fd]
    assert ledger.changed() is False
    assert select.select([fd], [], [], 0)[0] == [], "changed() read the pending events"
    with Ledger.open(path) as other:
        other.act(action(Act.DONE))
    assert select.select([fd], [], [], 5)[0] == [fd]
    assert ledger.changed() is True
    assert [a.act for a in ledger.actions_after(1)] == [Act.DONE]
