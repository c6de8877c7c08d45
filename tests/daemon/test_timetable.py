"""The timetable behind the one APScheduler job, and the retry backoff: pure, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alertd.daemon.timetable import Timetable
from alertd.delivery.dispatch import RETRY_CAP, backoff

T = datetime(2021, 5, 21, 21, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def test_it_hands_out_only_what_is_due():
    tt = Timetable()
    tt.load([("a", T, True), ("b", T + S, True), ("c", None, True)])
    assert tt.next_instant() == T
    assert tt.pop_due_deadlines(T - S) == []
    assert tt.pop_due_deadlines(T) == ["a"]
    assert tt.next_instant() == T + S


def test_a_replaced_or_removed_deadline_never_fires_its_old_instant():
    tt = Timetable()
    tt.load([("a", T, True), ("b", T, True)])
    tt.set_deadline("a", T + 10 * S)
    tt.remove_deadline("b")
    assert tt.next_instant() == T + 10 * S
    assert tt.pop_due_deadlines(T + 5 * S) == []
    assert tt.pop_due_deadlines(T + 10 * S) == ["a"]


def test_a_retry_can_come_before_the_next_alert():
    tt = Timetable()
    tt.load([("a", T + 10 * S, True)])
    tt.add_retry("k", "a", T + 2 * S)
    tt.add_retry("k", "a", T + 3 * S)  # re-scheduled: only the latest instant counts
    assert tt.next_instant() == T + 3 * S
    assert tt.pop_due_retries(T + 2 * S) == []
    assert tt.pop_due_retries(T + 3 * S) == [("k", "a")]
    assert tt.next_instant() == T + 10 * S


@pytest.mark.parametrize(("attempt", "retry_after", "rand", "expected"), [
    (1, None, 0.0, 1.0),
    (1, None, 0.999999, 2.0),
    (3, None, 0.5, 6.0),
    (30, None, 1.0, RETRY_CAP),
    (2, 17.0, 0.3, 17.0),  # Retry-After is honoured as given
    (2, 99999.0, 0.3, 3600.0),  # ... up to an hour
    (2, float("inf"), 0.3, 3600.0),  # (400 nines: a float of 1e400)
    (1, 0.0, 0.0, 1.0),  # but never shortens the backoff: Retry-After: 0 waits the backoff's floor
    (3, 0.0, 0.5, 6.0),
    (4, 1.5, 0.0, 8.0),  # ... a date in the past, a small value: the same
])
def test_backoff(attempt, retry_after, rand, expected):
    assert backoff(attempt, retry_after=retry_after, rand=rand) == pytest.approx(expected, rel=1e-5)


def test_a_bound_is_refined_only_when_it_reaches_the_top():
    asked = []

    def refine(deadline_id):
        asked.append(deadline_id)
        return {"far": T + 100 * S, "near": T + 5 * S}[deadline_id]

    tt = Timetable(refine)
    tt.load([("far", T + 50 * S, False), ("near", T, False), ("exact", T + 20 * S, True)])
    assert tt.next_instant() == T + 5 * S  # the near bound, refined; the far one untouched
    assert asked == ["near"]
    assert tt.next_deadline() == (T + 5 * S, "near")
    assert tt.pop_due_deadlines(T + 5 * S) == ["near"]
    assert tt.next_instant() == T + 20 * S
    assert tt.pop_due_deadlines(T + 20 * S) == ["exact"]
    assert tt.next_instant() == T + 100 * S
    assert asked == ["near", "far"]


def test_a_bound_that_falls_due_is_handed_out_for_the_caller_to_decide():
    tt = Timetable(lambda _: T + 10 * S)
    tt.load([("a", T, False)])
    assert tt.pop_due_deadlines(T) == ["a"]  # the loop missed a refine: the engine replans it
    assert tt.next_instant() is None


def test_removing_a_bound_entry_forgets_it():
    tt = Timetable(lambda _: pytest.fail("a removed deadline is never refined"))
    tt.load([("a", T, False)])
    tt.remove_deadline("a")
    assert tt.next_instant() is None


def test_bounds_are_refined_one_at_a_time_as_each_reaches_the_top():
    day = timedelta(days=1)
    firsts = {f"d{k}": T + k * day - 3 * S for k in range(1, 11)}  # each deadline's first alert
    asked: list[str] = []

    def refine(deadline_id):
        asked.append(deadline_id)
        return firsts[deadline_id]

    tt = Timetable(refine)
    tt.load([(f"d{k}", T + k * day - 2 * day, False) for k in range(10, 0, -1)])  # bounds 2 days early, shuffled
    assert tt.next_instant() == T + day - 3 * S
    assert asked == ["d1", "d2"]  # d2's bound came before d1's alert: refined too; d3's did not
    assert tt.pop_due_deadlines(T + day - 3 * S) == ["d1"]
    assert tt.next_deadline() == (T + 2 * day - 3 * S, "d2")
    assert asked == ["d1", "d2", "d3"]
    # a jump: what fell due is handed out in the order of the entries (a bound's instant is its bound),
    # bounds included: they are not refined, the engine replans them
    assert tt.pop_due_deadlines(T + 5 * day - 4 * S) == ["d2", "d4", "d3", "d5", "d6"]
    assert asked == ["d1", "d2", "d3"]
    assert tt.next_instant() == T + 7 * day - 3 * S
    assert asked == ["d1", "d2", "d3", "d7", "d8"]  # d8's bound (day 6) came before d7's alert
    assert tt.pop_due_deadlines(T + 10 * day) == ["d7", "d9", "d8", "d10"]
    assert asked == ["d1", "d2", "d3", "d7", "d8"]


def test_loading_into_a_running_timetable_keeps_the_earliest_first():
    tt = Timetable(lambda _: T + 30 * S)
    tt.load([("a", T + 10 * S, True), ("b", T + 20 * S, True)])
    tt.load([("c", T + 5 * S, True), ("a", T + 15 * S, True), ("b", None, True), ("d", T, False)])
    assert tt.next_instant() == T + 5 * S  # d's bound refined to T + 30 s
    assert tt.pop_due_deadlines(T + 60 * S) == ["c", "a", "d"]  # b's entry went with its None
    assert tt.next_instant() is None
