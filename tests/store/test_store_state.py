"""What people did about a deadline's due, alike on both engines (conftest.py `store`, `opener`):
acts, states, the actions that follow, the open rows of a due, and hearing another writer's act."""

from __future__ import annotations

import select
import threading
from datetime import UTC, datetime, timedelta

from alertd.core.state import Act, Action, DeadlineState
from alertd.store.base import NewRow

DUE = datetime(2021, 5, 21, 21, 0, tzinfo=UTC)
T = DUE - timedelta(hours=2)


def action(act: Act = Act.ACK, *, by: str = "alice", due: datetime = DUE, until: datetime | None = None,
           note: str | None = None, at: datetime = T) -> Action:
    return Action("d", due, act, by, at, note=note, until=until)


def test_an_ack_is_recorded_once_with_who_when_and_the_note(store) -> None:
    recorded, state = store.act(action(note="on it"))
    assert recorded is not None and recorded.id == 1
    assert state == DeadlineState(acked=recorded)
    again, same = store.act(action(by="bob", at=T + timedelta(minutes=1)))
    assert again is None and same == state  # the first ack stands; nothing new is written
    assert store.states() == {("d", DUE): state}
    assert [(a.by, a.note, a.at) for a in store.actions_after(0)] == [("alice", "on it", T)]


def test_state_belongs_to_the_due(store) -> None:
    store.act(action())
    assert store.states([("d", DUE + timedelta(days=1))]) == {}
    assert set(store.states([("d", DUE), ("e", DUE)])) == {("d", DUE)}


def test_states_answer_in_the_callers_zone(store) -> None:
    store.act(action())
    paris = DUE.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    found = store.states([("d", paris)])
    assert list(found) == [("d", paris)] and found[("d", paris)].acked.by == "alice"


def test_snooze_done_and_reopen(store) -> None:
    snoozed, _ = store.act(action(Act.SNOOZE, until=DUE + timedelta(hours=1)))
    done, state = store.act(action(Act.DONE, at=T + timedelta(minutes=5)))
    assert state == DeadlineState(snoozed=snoozed, done=done) and state.snoozed.until == DUE + timedelta(hours=1)
    reopened, state = store.act(action(Act.REOPEN, at=T + timedelta(minutes=9)))
    assert reopened is not None and state.empty
    assert store.states() == {}
    assert [a.act for a in store.actions_after(0)] == [Act.SNOOZE, Act.DONE, Act.REOPEN]
    assert [a.id for a in store.actions_after(2)] == [3]
    assert [a.id for a in store.actions_after(0, limit=2)] == [1, 2]
    assert store.action(2) == done
    assert store.action(99) is None


def test_open_deliveries_of_a_due_and_the_channels_that_got_repeats(store) -> None:
    now = DUE + timedelta(minutes=40)
    rows = [NewRow("a", "d", "-PT30M", DUE, "ops", DUE + timedelta(minutes=30), "pending", kind="deadline.overdue"),
            NewRow("b", "d", "-PT15M", DUE, "duty", DUE + timedelta(minutes=15), "pending",
                   kind="deadline.escalation"),
            NewRow("c", "d", "PT0S", DUE, "desk", DUE, "pending", kind="deadline.due"),
            NewRow("e", "d", "-PT1H", DUE, "late", DUE + timedelta(hours=1), "pending", kind="deadline.overdue"),
            NewRow("f", "d", "-PT30M", DUE - timedelta(days=1), "ops", DUE, "pending", kind="deadline.overdue"),
            NewRow("n", "d", "", DUE, "ops", now, "pending", kind="deadline.acknowledged", action_id=7)]
    store.record(rows, now=now)
    for key in "abcef":
        store.mark_sending(key, now=now)
    store.mark_sent("a", now=now)
    store.mark_sent("c", now=now)
    assert sorted(r.key for r in store.unfinished_for([("d", DUE)])) == ["b", "e", "n"]
    assert store.unfinished_for([]) == []
    assert store.received_after_due("d", DUE, before=now) == ["duty", "ops"]  # sent or being sent; not "late"
    notice = store.get("n")
    assert (notice.kind, notice.action_id) == ("deadline.acknowledged", 7)


def test_racing_acks_from_four_connections_make_one_record(opener) -> None:
    stores = [opener() for _ in range(4)]
    start = threading.Barrier(4)
    results: list[object] = []

    def ack(s, who: str) -> None:
        start.wait()
        results.append(s.act(action(by=who))[0])

    threads = [threading.Thread(target=ack, args=(s, w)) for s, w in zip(stores, "abcd", strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 4 and sum(r is not None for r in results) == 1
    assert len(stores[0].actions_after(0)) == 1


def test_the_change_descriptor_wakes_for_another_writer_and_changed_tells_which(opener) -> None:
    """An idle daemon waits on this descriptor; its own writes are not news to it."""
    other = opener()  # first: opening a ledger writes a probe, which is news to those opened before
    mine = opener()
    fd = mine.change_fd()
    assert fd is not None
    # A descriptor may fire once as it starts (PostgreSQL's listener says "look" on every connect):
    # settle that first.
    if select.select([fd], [], [], 2)[0]:
        mine.changed()
    mine.act(action())
    if select.select([fd], [], [], 1)[0]:  # SQLite's inotify sees its own commit; changed() tells it apart
        assert mine.changed() is False
    assert select.select([fd], [], [], 0)[0] == [], "changed() read the pending events"
    other.act(action(Act.DONE))
    assert select.select([fd], [], [], 5)[0] == [fd]
    assert mine.changed() is True
    assert mine.changed() is False
    assert [a.act for a in mine.actions_after(1)] == [Act.DONE]
