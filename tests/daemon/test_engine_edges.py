"""Edges of what people do about a deadline, on the engine's simulated clock (as in test_engine_states.py):
an ack while a repeat is still in the dispatcher's hands, an ack recorded while the daemon starts,
far deadlines that are done or snoozed, notices left open past the catch-up window.
"""

from __future__ import annotations

import asyncio
import select
from dataclasses import replace
from datetime import timedelta

from alertd.core.notification import Notification
from alertd.core.state import Act, Action
from alertd.daemon.engine import Engine
from alertd.daemon.follow import Follower
from alertd.daemon.timetable import Timetable
from alertd.delivery.dispatch import Dispatcher
from alertd.redact import Redactor
from alertd.store.base import NewRow
from alertd.store.ledger import Ledger
from tests.daemon.test_engine_states import DUE, MIN, START, Delivered, act, deadline, run_until

WINDOW = timedelta(hours=1)


class Holding(Delivered):
    """A dispatcher that, once `keep` is set, starts what it is given and records nothing yet (busy
    and started, its row still pending), as a real one does until its group commit writes `sending`."""

    def __init__(self, ledger: Ledger) -> None:
        super().__init__(ledger)
        self.keep = False
        self.queued: list[Notification] = []

    def submit(self, note: Notification, *, attempt: int) -> None:
        if not self.keep:
            super().submit(note, attempt=attempt)
            return
        self.busy.add(note.key)
        self.started.add(note.key)
        self.queued.append(note)


def open_world(tmp_path, items=None, dispatcher=Holding):
    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger.open(path)
    other = Ledger.open(path)
    sent = dispatcher(ledger)
    eng = Engine(items or [deadline()], ledger=ledger, timetable=Timetable(), dispatcher=sent, window=WINDOW)
    return eng, Follower(eng, window=WINDOW), sent, other


def test_an_ack_notifies_a_channel_whose_repeat_is_started_but_not_yet_marked(tmp_path) -> None:
    eng, follower, sent, other = open_world(tmp_path)
    follower.start(START)
    run_until(eng, sent, DUE + 15 * MIN)  # the reminder, the due alert, step 1 to duty: all sent
    sent.keep = True
    run_until(eng, sent, DUE + 30 * MIN)  # the first repeat to ops: started, `sending` not yet committed
    assert [(n.lead.iso, n.channel) for n in sent.queued] == [("-PT30M", "ops")]
    act(other, follower, sent, Act.ACK, DUE + 31 * MIN)
    notices = sorted(n.channel for n in sent.queued if n.is_notice)
    assert notices == ["duty", "ops"], "ops gets the repeat: it must hear of the ack too"


def test_an_ack_recorded_while_the_daemon_starts_is_applied(tmp_path) -> None:
    eng, follower, sent, other = open_world(tmp_path)
    replan = eng.replan

    def ack_meanwhile(deadlines, now):  # `alertd ack` commits after the states were read at start-up
        eng.replan = replan
        assert other.act(Action("late", DUE, Act.ACK, "alice", now))[0] is not None
        replan(deadlines, now)

    eng.replan = ack_meanwhile
    follower.start(START)
    run_until(eng, sent, DUE + timedelta(days=2))
    assert sent.seen() == [("reminder", "PT1H", "ops"), ("due", "PT0S", "ops")], "no repeat or step after an ack"


def test_an_ack_recorded_just_after_start_up_wakes_the_daemon(tmp_path) -> None:
    """The change descriptor is watched from before the daemon reads what is in force: a commit
    after that (before the loop waits on it) still makes it readable."""
    eng, follower, _, other = open_world(tmp_path)
    follower.start(START)
    assert other.act(Action("late", DUE, Act.DONE, "alice", START))[0] is not None
    fd = eng.ledger.change_fd()
    assert fd is not None and select.select([fd], [], [], 5)[0] == [fd]
    assert eng.ledger.changed() is True
    assert follower.apply(START) == 1 and eng.states["late"].done is not None


def test_a_far_deadline_done_in_its_config_gets_no_wake_up(tmp_path) -> None:
    done = replace(deadline(), id="filed", status="done")
    eng, follower, sent, _ = open_world(tmp_path, [done], dispatcher=Delivered)
    follower.start(START)
    assert eng.timetable.next_deadline() is None, "nothing will ever be sent for it: nothing to wake for"
    assert run_until(eng, sent, DUE + timedelta(days=2)) == []


def test_a_far_deadline_snoozed_past_its_first_reminder_wakes_at_the_snooze_end(tmp_path) -> None:
    eng, follower, sent, other = open_world(tmp_path, dispatcher=Delivered)
    until = DUE - 30 * MIN
    assert other.act(Action("late", DUE, Act.SNOOZE, "alice", START, until=until))[0] is not None
    follower.start(START)
    assert eng.timetable.next_deadline() == (until, "late")
    woke = run_until(eng, sent, DUE)
    assert woke == [until, DUE]
    assert sent.seen() == [("reminder", "PT1H", "ops"), ("due", "PT0S", "ops")]
    assert sent.notes[0].scheduled_for == DUE - 60 * MIN, "the held reminder, late"


def test_a_notice_left_open_past_the_catch_up_window_is_missed_not_sent(tmp_path) -> None:
    eng, follower, sent, other = open_world(tmp_path, dispatcher=Delivered)
    acked, _ = other.act(Action("late", DUE, Act.ACK, "alice", DUE + 40 * MIN))
    assert acked is not None
    stale = Notification.for_notice(deadline(), acked, "ops")
    crashed = Notification.for_notice(deadline(), acked, "duty")
    fresh_action, _ = other.act(Action("late", DUE, Act.SNOOZE, "bob", DUE + 3 * 60 * MIN, until=DUE + 5 * 60 * MIN))
    assert fresh_action is not None
    fresh = Notification.for_notice(deadline(), fresh_action, "ops")
    other.record([NewRow(n.key, "late", "", DUE, "ops", n.scheduled_for, "pending", kind=n.kind,
                         action_id=n.action.id) for n in (stale, crashed, fresh)], now=DUE + 40 * MIN)
    other.mark_sending(crashed.key, now=DUE + 40 * MIN)  # the daemon was killed while sending it
    down_until = DUE + 3 * 60 * MIN + 10 * MIN  # two hours after the ack, ten minutes after the snooze
    sent.now = down_until
    follower.start(down_until)
    assert [n.key for n in sent.notes if n.is_notice] == [fresh.key], "only the notice still within the window"
    rows = eng.ledger.rows([stale.key, crashed.key])
    assert (rows[stale.key].state, rows[stale.key].reason) == ("missed", "beyond_catchup_window")
    assert (rows[crashed.key].state, rows[crashed.key].reason) == ("failed", "beyond_catchup_window"), "tried once"


class Paced:
    """A channel's sender that, while `gate` is shut, makes each delivery wait for its turn (as
    Slack's one-a-second pacing does, before the delivery takes a slot); it keeps what it is sent."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        self.got: list[Notification] = []

    async def ready(self, note: Notification) -> None:
        await self.gate.wait()

    async def send(self, note: Notification, *, now) -> None:
        self.got.append(note)


async def turns(dispatcher: Dispatcher) -> None:
    """Let the event loop run until the dispatcher is idle, or only waits on a shut gate."""
    for _ in range(200):
        await asyncio.sleep(0)
        if not dispatcher.busy:
            return


async def queued_repeat_then(tmp_path, action: Action, until) -> tuple[dict[str, Paced], Ledger]:
    """The first repeat to ops waits for its turn (the dispatcher has it, no attempt yet) when
    `action` is recorded and applied; then its turn comes, and the clock runs on to `until`."""
    path = tmp_path / "ledger.sqlite3"
    ledger, other = Ledger.open(path), Ledger.open(path)
    clock = [START]
    senders = {name: Paced() for name in ("ops", "duty", "boss")}
    dispatcher = Dispatcher(ledger, concurrency=4, window=WINDOW, clock=lambda: clock[0],
                            on_retry=lambda *_: None, redact=Redactor())
    dispatcher.senders = senders
    eng = Engine([deadline()], ledger=ledger, timetable=Timetable(), dispatcher=dispatcher, window=WINDOW)
    follower = Follower(eng, window=WINDOW)
    follower.start(START)

    async def run_until(end) -> None:
        while (nxt := eng.timetable.next_instant()) is not None and nxt <= end:
            clock[0] = nxt
            eng.run_due(nxt)
            await turns(dispatcher)

    await run_until(DUE + 15 * MIN)
    senders["ops"].gate.clear()
    await run_until(DUE + 30 * MIN)
    assert dispatcher.busy and not senders["ops"].got[2:]
    clock[0] = action.at
    assert other.act(action)[0] is not None
    assert follower.poll(clock[0]) == 1
    senders["ops"].gate.set()
    await turns(dispatcher)
    assert not dispatcher.busy
    await run_until(until)
    other.close()
    return senders, ledger


def test_a_repeat_still_waiting_for_its_turn_when_an_ack_comes_is_not_sent(tmp_path) -> None:
    """The ack is applied within a second; a repeat queued before it must not go out after it."""
    ack = Action("late", DUE, Act.ACK, "alice", DUE + 31 * MIN)
    senders, ledger = asyncio.run(queued_repeat_then(tmp_path, ack, DUE + timedelta(days=1)))
    assert [(n.kind, n.lead.iso) for n in senders["ops"].got] == [("deadline.reminder", "PT1H"),
                                                                   ("deadline.due", "PT0S")]
    assert [n.kind for n in senders["duty"].got] == ["deadline.escalation", "deadline.acknowledged"]
    rows = {(r.lead, r.channel): (r.state, r.reason) for r in ledger.iter_all()}
    assert rows[("-PT30M", "ops")] == ("superseded", "acknowledged")
    ledger.close()


def test_a_repeat_still_waiting_for_its_turn_when_a_snooze_comes_waits_for_its_end(tmp_path) -> None:
    snooze = Action("late", DUE, Act.SNOOZE, "alice", DUE + 31 * MIN, until=DUE + 50 * MIN)
    senders, ledger = asyncio.run(queued_repeat_then(tmp_path, snooze, DUE + 50 * MIN))
    late = senders["ops"].got[2:]
    assert [(n.kind, n.lead.iso) for n in late] == [("deadline.overdue", "-PT30M")], "held, then the latest held"
    assert late[0].late_by_seconds == 20 * 60, "sent when the snooze ended"
    ledger.close()


def test_a_repeat_waiting_for_a_retry_is_closed_when_the_config_drops_repeats_and_steps(tmp_path) -> None:
    eng, follower, sent, _ = open_world(tmp_path, dispatcher=Delivered)
    follower.start(START)
    sent.keep_open = {"-PT30M"}
    run_until(eng, sent, DUE + 30 * MIN)
    [repeat] = [n for n in sent.notes if n.lead.iso == "-PT30M"]
    eng.ledger.apply_marks([("sending", repeat.key, DUE + 30 * MIN)])
    eng.ledger.mark_retry(repeat.key, at=DUE + 32 * MIN, error="HTTP 503", now=DUE + 30 * MIN)
    plain = replace(deadline(), after=None)
    eng.replace([plain], DUE + 31 * MIN)
    run_until(eng, sent, DUE + timedelta(days=1))
    row = eng.ledger.get(repeat.key)
    assert row is not None and (row.state, row.reason) == ("superseded", "deadline_changed"), "not left open for ever"
