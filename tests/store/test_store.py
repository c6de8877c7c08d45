"""What every store engine does alike, run on the SQLite ledger and on PostgreSQL (conftest.py `store`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alertd.store.base import NewRow

NOW = datetime(2021, 5, 20, 21, 0, tzinfo=UTC)
DUE = datetime(2021, 5, 21, 21, 0, tzinfo=UTC)


def new(key="k1", state="pending", reason=None, fire_at=NOW) -> NewRow:
    return NewRow(key, "d", "P1D", DUE, "hook", fire_at, state, reason)


def test_a_delivery_goes_pending_sending_sent(store):
    store.record([new()], now=NOW)
    assert store.get("k1").state == "pending"
    store.mark_sending("k1", now=NOW + timedelta(seconds=1))
    row = store.get("k1")
    assert (row.state, row.attempts, row.first_attempt_at) == ("sending", 1, NOW + timedelta(seconds=1))
    store.mark_sent("k1", now=NOW + timedelta(seconds=2))
    row = store.get("k1")
    assert (row.state, row.sent_at, row.fire_at, row.due) == ("sent", NOW + timedelta(seconds=2), NOW, DUE)


def test_a_retry_keeps_its_instant_and_error(store):
    store.record([new()], now=NOW)
    store.mark_sending("k1", now=NOW)
    store.mark_retry("k1", at=NOW + timedelta(seconds=5), error="HTTP 503", now=NOW)
    row = store.get("k1")
    assert (row.state, row.next_retry_at, row.last_error) == ("pending", NOW + timedelta(seconds=5), "HTTP 503")
    store.mark_sending("k1", now=NOW + timedelta(seconds=5))
    store.finish("k1", "failed", reason="permanent", error="HTTP 404", now=NOW + timedelta(seconds=6))
    row = store.get("k1")
    assert (row.state, row.reason, row.attempts, row.last_error, row.first_attempt_at, row.last_attempt_at) == (
        "failed", "permanent", 2, "HTTP 404", NOW, NOW + timedelta(seconds=5))
    assert [r.key for r in store.failures()] == ["k1"]


def test_marks_apply_at_once_and_in_order(store):
    store.record([new("a"), new("b")], now=NOW)
    t = [NOW + timedelta(seconds=i) for i in range(4)]
    store.apply_marks([("sending", "a", t[0]), ("sending", "b", t[0]), ("sent", "a", t[1]),
                       ("sending", "a", t[2]), ("sent", "a", t[3])])
    a, b = store.get("a"), store.get("b")
    assert (a.state, a.attempts, a.first_attempt_at, a.last_attempt_at, a.sent_at) == ("sent", 2, t[0], t[2], t[3])
    assert (b.state, b.attempts) == ("sending", 1)


def test_rows_left_sending_by_a_crash_are_found_on_reopen(opener):
    first = opener()
    first.record([new("a"), new("b"), new("c")], now=NOW)
    first.mark_sending("a", now=NOW)
    first.mark_sending("b", now=NOW)
    first.mark_sent("b", now=NOW)
    again = opener()  # the first one never closed: as if its process died
    assert {(r.key, r.state) for r in again.unfinished()} == {("a", "sending"), ("c", "pending")}


def test_recording_never_reopens_a_final_row(store):
    store.record([new()], now=NOW)
    store.mark_sending("k1", now=NOW)
    store.mark_sent("k1", now=NOW)
    store.record([new(state="superseded", reason="x")], now=NOW)
    assert store.get("k1").state == "sent"


def test_recording_closes_an_open_row(store):
    store.record([new()], now=NOW)
    store.mark_retry("k1", at=NOW + timedelta(hours=1), error="timed out", now=NOW)
    store.record([new(state="superseded", reason="superseded_by_later_alert")], now=NOW)
    row = store.get("k1")
    assert (row.state, row.reason, row.next_retry_at) == ("superseded", "superseded_by_later_alert", None)


def test_recording_pending_again_keeps_a_retry_instant(store):
    store.record([new()], now=NOW)
    store.mark_retry("k1", at=NOW + timedelta(minutes=5), error="HTTP 503", now=NOW)
    store.record([new()], now=NOW + timedelta(minutes=1))
    row = store.get("k1")
    assert (row.state, row.next_retry_at, row.updated_at) == ("pending", NOW + timedelta(minutes=5),
                                                              NOW + timedelta(minutes=1))


def test_a_key_twice_in_one_batch_resolves_as_one_by_one(store):
    store.record([new("a", "superseded", "x"), new("a"), new("b"), new("b", "missed", "too_late")], now=NOW)
    assert (store.get("a").state, store.get("b").state) == ("superseded", "missed")


def test_finishing_takes_only_a_final_state(store):
    store.record([new()], now=NOW)
    with pytest.raises(ValueError, match="final"):
        store.finish("k1", "pending", reason="x", now=NOW)


def test_rows_looks_up_many_keys(store):
    store.record([new(f"k{i}") for i in range(1200)], now=NOW)
    found = store.rows([f"k{i}" for i in range(0, 2400, 2)])
    assert len(found) == 600
    assert store.counts() == {"pending": 1200}


def test_reads_for_status_are_ordered(store):
    store.record([new("late", fire_at=NOW + timedelta(hours=1)), new("early"), new("gone")], now=NOW)
    store.mark_retry("early", at=NOW + timedelta(hours=2), error="x", now=NOW + timedelta(seconds=1))
    store.finish("gone", "missed", reason="too_late", now=NOW + timedelta(seconds=2))
    assert [r.key for r in store.next()] == ["late", "early"]
    assert [r.key for r in store.recent(2)] == ["gone", "early"]
    assert [r.key for r in store.failures()] == ["gone"]
    assert {r.key for r in store.unfinished()} == {"late", "early"}
    assert store.counts() == {"pending": 2, "missed": 1}
    assert store.get("none") is None


def test_first_seen_keeps_the_first_time(store):
    store.see([("d", DUE)], now=NOW)
    store.see([("d", DUE), ("e", DUE)], now=NOW + timedelta(hours=1))
    assert store.first_seen([("d", DUE), ("e", DUE), ("f", DUE)]) == {
        ("d", DUE): NOW, ("e", DUE): NOW + timedelta(hours=1)}


def test_first_seen_answers_in_the_callers_zone_for_many_pairs(store):
    """12,000 pairs: more than one statement's worth on PostgreSQL."""
    pairs = [(f"d{i}", DUE + timedelta(minutes=i)) for i in range(12_000)]
    store.see(iter(pairs), now=NOW)
    found = store.first_seen(pairs[::3])
    assert len(found) == 4000 and set(found.values()) == {NOW}
