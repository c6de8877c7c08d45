"""The timetable behind the one APScheduler job, and the retry backoff: pure, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alertd.dispatch import RETRY_CAP, backoff
from alertd.scheduler import Timetable

T = datetime(2021, 5, 21, 21, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def test_it_hands_out_only_what_is_due():
    tt = Timetable()
    tt.load([("a", T), ("b", T + S), ("c", None)])
    assert tt.next_instant() == T
    assert tt.pop_due_deadlines(T - S) == []
    assert tt.pop_due_deadlines(T) == ["a"]
    assert tt.next_instant() == T + S


def test_a_replaced_or_removed_deadline_never_fires_its_old_instant():
    tt = Timetable()
    tt.load([("a", T), ("b", T)])
    tt.set_deadline("a", T + 10 * S)
    tt.remove_deadline("b")
    assert tt.next_instant() == T + 10 * S
    assert tt.pop_due_deadlines(T + 5 * S) == []
    assert tt.pop_due_deadlines(T + 10 * S) == ["a"]


def test_a_retry_can_come_before_the_next_alert():
    tt = Timetable()
    tt.load([("a", T + 10 * S)])
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
])
def test_backoff(attempt, retry_after, rand, expected):
    assert backoff(attempt, retry_after=retry_after, rand=rand) == pytest.approx(expected, rel=1e-5)
