"""The engine and the follower on a simulated clock: repeats and steps fire at their instants, and an
ack, snooze, done or reopen written by another connection changes what comes next at once.

In-process, with a real SQLite ledger and a second connection standing for `alertd ack`; the
dispatcher is a stand-in that records each delivery as sent at once. Time is the test's: the
engine is woken at each instant the timetable names, as the daemon's alarm would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alertd.core.leads import parse_lead
from alertd.core.model import AfterDue, Deadline, Step
from alertd.core.notification import Notification
from alertd.core.state import Act, Action
from alertd.core.timerules import parse_due
from alertd.daemon.engine import Engine
from alertd.daemon.follow import Follower
from alertd.daemon.timetable import Timetable
from alertd.store.ledger import Ledger

DUE = datetime(2030, 1, 1, 0, 0, tzinfo=UTC)
START = DUE - timedelta(days=30)  # far ahead at start-up: the deadline waits in the far list
MIN = timedelta(minutes=1)


class Delivered:
    """Stands in for the dispatcher: every delivery is accepted at once and marked so in the ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.busy: set[str] = set()
        self.started: set[str] = set()
        self.notes: list[Notification] = []
        self.keep_open: set[str] = set()  # leads (ISO) submitted but not marked
        self.now = START

    def submit(self, note: Notification, *, attempt: int) -> None:
        self.notes.append(note)
        if note.lead.iso in self.keep_open:  # the test records what happens to it
            return
        self.ledger.apply_marks([("sending", note.key, self.now), ("sent", note.key, self.now)])

    def seen(self) -> list[tuple[str, str, str]]:
        return [(n.kind.removeprefix("deadline."), n.lead.iso if not n.is_notice else "", n.channel)
                for n in self.notes]


def deadline() -> Deadline:
    written = parse_due("2030-01-01T00:00:00Z")
    return Deadline(id="late", title="Late", timezone="UTC", written=written, due=DUE,
                    leads=(parse_lead("1h"), parse_lead("0")), channels=("ops",),
                    after=AfterDue(30 * 60, 2 * 3600, (Step(15 * 60, ("duty",)), Step(3 * 3600, ("boss",)))))


@pytest.fixture
def world(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger.open(path)
    other = Ledger.open(path)  # the command's connection
    sent = Delivered(ledger)
    eng = Engine([deadline()], ledger=ledger, timetable=Timetable(), dispatcher=sent, window=timedelta(hours=1))
    follower = Follower(eng, window=timedelta(hours=1))
    follower.start(START)
    yield eng, follower, sent, other
    other.close()
    ledger.close()


def run_until(eng: Engine, sent: Delivered, end: datetime) -> list[datetime]:
    woke = []
    while (nxt := eng.timetable.next_instant()) is not None and nxt <= end:
        woke.append(nxt)
        sent.now = nxt
        eng.run_due(nxt)
    return woke


def act(other: Ledger, follower: Follower, sent: Delivered, kind: Act, at: datetime, **extra) -> None:
    """`alertd KIND late` at `at`, then the daemon's next tick."""
    recorded, _ = other.act(Action("late", DUE, kind, "alice", at, **extra))
    assert recorded is not None
    sent.now = at
    assert follower.poll(at) == 1


def test_repeats_and_steps_fire_at_their_instants_and_each_once(world) -> None:
    eng, _, sent, _ = world
    woke = run_until(eng, sent, DUE + timedelta(hours=4))
    assert woke == [DUE - 60 * MIN, DUE, DUE + 15 * MIN, DUE + 30 * MIN, DUE + 60 * MIN, DUE + 90 * MIN,
                    DUE + 120 * MIN, DUE + 180 * MIN]
    assert sent.seen() == [("reminder", "PT1H", "ops"), ("due", "PT0S", "ops"), ("escalation", "-PT15M", "duty"),
                           ("overdue", "-PT30M", "ops"), ("overdue", "-PT1H", "ops"), ("overdue", "-PT1H30M", "ops"),
                           ("overdue", "-PT2H", "ops"), ("escalation", "-PT3H", "boss")]


def test_an_ack_stops_repeats_and_steps_and_notifies_those_that_got_them(world) -> None:
    eng, follower, sent, other = world
    run_until(eng, sent, DUE + 40 * MIN)
    act(other, follower, sent, Act.ACK, DUE + 41 * MIN, note="on it")
    assert sent.seen()[-2:] == [("acknowledged", "", "duty"), ("acknowledged", "", "ops")]
    assert sent.notes[-1].action.note == "on it"
    before = len(sent.notes)
    assert run_until(eng, sent, DUE + timedelta(days=2)) == []  # nothing more to wake for
    assert len(sent.notes) == before


def test_an_ack_before_the_due_keeps_the_reminders_and_sends_no_notice(world) -> None:
    eng, follower, sent, other = world
    act(other, follower, sent, Act.ACK, DUE - 2 * 60 * MIN)
    run_until(eng, sent, DUE + timedelta(days=2))
    assert sent.seen() == [("reminder", "PT1H", "ops"), ("due", "PT0S", "ops")]


def test_done_stops_everything(world) -> None:
    eng, follower, sent, other = world
    run_until(eng, sent, DUE - 30 * MIN)
    act(other, follower, sent, Act.DONE, DUE - 20 * MIN)
    assert run_until(eng, sent, DUE + timedelta(days=2)) == []
    assert sent.seen() == [("reminder", "PT1H", "ops")]


def test_a_snooze_holds_everything_then_sends_the_latest_held_alert_per_channel(world) -> None:
    eng, follower, sent, other = world
    run_until(eng, sent, DUE - 30 * MIN)
    act(other, follower, sent, Act.SNOOZE, DUE - 20 * MIN, until=DUE + 70 * MIN)
    assert sent.seen()[-1] == ("reminder", "PT1H", "ops"), "no repeat or step came yet: no notice"
    woke = run_until(eng, sent, DUE + timedelta(hours=4))
    assert woke[0] == DUE + 70 * MIN, "nothing until the snooze ends"
    released = sent.seen()[1:3]  # at its end: the latest held alert per channel, in one pass
    assert sorted(released) == [("escalation", "-PT15M", "duty"), ("overdue", "-PT1H", "ops")]
    assert sent.seen()[3:] == [("overdue", "-PT1H30M", "ops"), ("overdue", "-PT2H", "ops"),
                               ("escalation", "-PT3H", "boss")]
    step = next(n for n in sent.notes if n.step == 1)
    assert step.scheduled_for == DUE + 15 * MIN, "sent late, planned for its own instant"
    with Ledger.open(eng.ledger.path) as ledger:
        rows = {(r.lead, r.channel): (r.state, r.reason) for r in ledger.iter_all()}
    assert rows[("PT0S", "ops")] == ("superseded", "superseded_by_later_alert")


def test_a_reopen_after_an_ack_lets_the_latest_held_repeat_go_and_the_rest_follow(world) -> None:
    eng, follower, sent, other = world
    run_until(eng, sent, DUE + 35 * MIN)
    act(other, follower, sent, Act.ACK, DUE + 36 * MIN)
    run_until(eng, sent, DUE + 100 * MIN)
    act(other, follower, sent, Act.REOPEN, DUE + 100 * MIN)
    assert sent.seen()[-1] == ("overdue", "-PT1H30M", "ops")
    run_until(eng, sent, DUE + timedelta(hours=4))
    assert [k for k, _, _ in sent.seen()].count("acknowledged") == 2  # duty and ops, for the ack only
    assert sent.seen()[-2:] == [("overdue", "-PT2H", "ops"), ("escalation", "-PT3H", "boss")]


def test_an_action_about_another_due_is_left_alone(world) -> None:
    eng, follower, sent, other = world
    recorded, _ = other.act(Action("late", DUE + timedelta(days=1), Act.DONE, "alice", START))
    assert recorded is not None and follower.poll(START) == 1
    run_until(eng, sent, DUE)
    assert sent.seen() == [("reminder", "PT1H", "ops"), ("due", "PT0S", "ops")]
