"""Claims on a real PostgreSQL: disjoint batches, leases on the database clock, sweeps, heartbeats."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from alertd.store.base import NewRow, StoreError
from tests.store.conftest import open_postgres

NOW = datetime(2021, 5, 20, 21, 0, tzinfo=UTC)
DUE = datetime(2021, 5, 21, 21, 0, tzinfo=UTC)
SHORT = timedelta(milliseconds=600)


def new(key: str, fire_at: datetime = NOW) -> NewRow:
    return NewRow(key, "d", "P1D", DUE, "hook", fire_at, "pending")


def wait_for(what: str, check: Callable[[], object], ceiling: float = 10.0) -> object:
    end = time.monotonic() + ceiling
    while time.monotonic() < end:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not within {ceiling} s: {what}")


def lease_over(url: str, key: str) -> bool:
    """Whether the key's lease has ended on the database's clock."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT claim_until < now() FROM alertd.deliveries WHERE key = %s", (key,)).fetchone()
    return bool(row and row[0])


@pytest.fixture
def two(pg_url):
    a, b = open_postgres(pg_url, "a"), open_postgres(pg_url, "b")
    yield a, b
    a.close()
    b.close()


def test_a_claim_takes_a_batch_in_one_statement_and_stamps_it(two):
    a, _ = two
    a.record([new(f"k{i}") for i in range(10)], now=NOW)
    got = a.claim([f"k{i}" for i in range(10)], limit=4)
    assert len(got) == 4 and {r.claimed_by for r in got} == {"a"}
    assert len(a.claim([f"k{i}" for i in range(10)])) == 10  # the rest, and its own again


def test_rows_locked_by_one_claimer_are_skipped_by_the_other(pg_url, two):
    """SKIP LOCKED: while one transaction holds some rows, another claim takes the rest without waiting."""
    a, b = two
    a.record([new(f"k{i}") for i in range(6)], now=NOW)
    with psycopg.connect(pg_url) as holder:
        holder.execute("SELECT key FROM alertd.deliveries WHERE key IN ('k0', 'k1', 'k2') FOR UPDATE")
        started = time.monotonic()
        got = {r.key for r in b.claim([f"k{i}" for i in range(6)])}
        assert got == {"k3", "k4", "k5"} and time.monotonic() - started < 1
    assert {r.key for r in a.claim([f"k{i}" for i in range(6)])} == {"k0", "k1", "k2"}


def test_two_instances_claiming_the_same_keys_at_once_get_disjoint_sets(two):
    a, b = two
    keys = [f"k{i:04d}" for i in range(2000)]
    a.record([new(k) for k in keys], now=NOW)
    got: dict[str, list[str]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def run(store, name):
        start.wait()
        while batch := store.claim(keys, limit=50):
            mine = [r.key for r in batch]
            assert store.start_sending(mine, now=NOW) == set(mine)
            store.apply_marks([("sent", k, NOW) for k in mine])
            got[name] += mine

    threads = [threading.Thread(target=run, args=(s, n)) for s, n in ((a, "a"), (b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not set(got["a"]) & set(got["b"])
    assert sorted(got["a"] + got["b"]) == keys
    assert got["a"] and got["b"]  # both took part
    assert a.counts() == {"sent": 2000}


def test_another_instances_live_claim_is_not_taken(two):
    a, b = two
    a.record([new("k")], now=NOW)
    assert [r.key for r in a.claim(["k"])] == ["k"]
    assert b.claim(["k"]) == [] and b.sweep(limit=10) == []
    assert b.start_sending(["k"], now=NOW) == set()


def test_an_expired_claim_is_swept_and_taken_over(pg_url):
    with open_postgres(pg_url, "a", lease=SHORT) as a, open_postgres(pg_url, "b") as b:
        a.record([new("k")], now=NOW)
        a.claim(["k"])
        assert a.start_sending(["k"], now=NOW) == {"k"}  # a dies here, mid-send
        taken = wait_for("b sweeps k", lambda: b.sweep(limit=10))
        assert [(r.key, r.claimed_by, r.state, r.attempts) for r in taken] == [("k", "b", "sending", 1)]
        assert b.start_sending(["k"], now=NOW) == {"k"}
        assert a.start_sending(["k"], now=NOW) == set()  # a wakes up: no longer its own
        assert b.get("k").attempts == 2


def test_a_frozen_instance_waking_to_a_failure_does_not_reopen_what_another_took_over(pg_url):
    """Frozen mid-request past its lease, `a` wakes to a timeout: its retry or give-up mark must not
    touch a row `b` holds or has sent (a reopened row would be sent a third time)."""
    with open_postgres(pg_url, "a", lease=SHORT) as a, open_postgres(pg_url, "b") as b:
        a.record([new("k"), new("j")], now=NOW)
        a.claim(["k", "j"])
        a.start_sending(["k", "j"], now=NOW)
        taken = wait_for("b sweeps k and j", lambda: len(b.sweep(limit=10)) == 2)
        assert taken
        b.start_sending(["k", "j"], now=NOW)
        b.mark_sent("k", now=NOW)
        a.mark_retry("k", at=NOW, error="timed out", now=NOW)
        a.mark_retry("j", at=NOW, error="timed out", now=NOW)
        a.finish("j", "failed", reason="permanent", now=NOW)
        assert (b.get("k").state, b.get("j").state, b.get("j").claimed_by) == ("sent", "sending", "b")


def test_a_renewed_claim_is_not_swept(pg_url):
    with open_postgres(pg_url, "a", lease=SHORT) as a, open_postgres(pg_url, "b") as b:
        a.record([new("k")], now=NOW)
        a.claim(["k"])
        end = time.monotonic() + 3 * SHORT.total_seconds()
        while time.monotonic() < end:
            assert a.renew(["k"]) == {"k"}
            assert b.sweep(limit=10) == []
            time.sleep(SHORT.total_seconds() / 4)
        assert a.start_sending(["k"], now=NOW) == {"k"}


def test_the_check_before_sending_refuses_an_expired_lease(pg_url):
    """The database's clock decides, whatever this host's says: a frozen instance does not send."""
    with open_postgres(pg_url, "a", lease=SHORT) as a:
        a.record([new("k")], now=NOW)
        a.claim(["k"])
        wait_for("the lease ends", lambda: lease_over(pg_url, "k"))
        assert a.start_sending(["k"], now=NOW) == set()
        assert a.get("k").state == "pending"


def test_a_lease_nobody_took_can_be_renewed_after_its_end(pg_url):
    with open_postgres(pg_url, "a", lease=SHORT) as a, open_postgres(pg_url, "b") as b:
        a.record([new("k")], now=NOW)
        a.claim(["k"])
        wait_for("the lease ends", lambda: lease_over(pg_url, "k"))
        assert a.renew(["k"]) == {"k"}
        assert b.sweep(limit=10) == []


def test_the_sweep_leaves_future_alerts_and_waiting_retries(two):
    a, b = two
    future = datetime.now(UTC) + timedelta(hours=1)
    a.record([new("future", fire_at=future), new("retry"), new("due")], now=NOW)
    a.mark_retry("retry", at=future, error="HTTP 503", now=NOW)
    assert [r.key for r in b.sweep(limit=10)] == ["due"]


def test_released_claims_are_taken_at_once(two):
    a, b = two
    a.record([new("x"), new("y")], now=NOW)
    a.claim(["x", "y"])
    assert a.release(["x"]) == 1
    assert [r.key for r in b.sweep(limit=10)] == ["x"]
    a.stop()
    assert [r.key for r in b.sweep(limit=10)] == ["y"]


def test_recording_leaves_a_row_another_instance_holds_alone(two):
    a, b = two
    a.record([new("k")], now=NOW)
    a.claim(["k"])
    a.start_sending(["k"], now=NOW)
    b.record([new("k")], now=NOW)  # b decided the same at the same instant
    assert (a.get("k").state, a.get("k").claimed_by) == ("sending", "a")
    b.record([NewRow("k", "d", "P1D", DUE, "hook", NOW, "superseded", "deadline_changed")], now=NOW)
    assert a.get("k").state == "sending"


def test_final_marks_end_the_lease(two):
    a, b = two
    a.record([new("s"), new("r")], now=NOW)
    a.claim(["s", "r"])
    a.start_sending(["s", "r"], now=NOW)
    a.mark_sent("s", now=NOW)
    a.mark_retry("r", at=NOW, error="HTTP 503", now=NOW)
    assert [(r.key, r.claimed_by) for r in b.sweep(limit=10)] == [("r", "b")]
    assert a.get("s").claimed_by == "a"  # who sent it stays on the record


def test_heartbeats_list_the_instances_live_and_stopped(pg_url):
    with open_postgres(pg_url, "a") as a, open_postgres(pg_url, "b", dead_after=timedelta(seconds=1)) as b:
        beat = a.register()
        assert abs(beat.offset) < timedelta(seconds=1)
        b.register()
        a.record([new("k")], now=NOW)
        a.claim(["k"])
        b.stop()
        listed = {i.name: i for i in a.instances()}
        assert (listed["a"].alive, listed["a"].claims, listed["a"].stopped_at) == (True, 1, None)
        assert listed["b"].alive is False and listed["b"].stopped_at is not None
        b.heartbeat()  # a start after the stop
        assert {i.name: i.alive for i in a.instances()}["b"] is True
        wait_for("b counts as dead without heartbeats", lambda: not {i.name: i.alive for i in b.instances()}["b"])
        assert a.heartbeat().db_now >= beat.db_now


def test_a_second_live_instance_of_the_same_name_is_refused(pg_url):
    with open_postgres(pg_url, "a") as a:
        a.register()
        with psycopg.connect(pg_url) as conn:
            conn.execute("UPDATE alertd.instances SET host = 'elsewhere' WHERE name = 'a'")
        with open_postgres(pg_url, "a") as again, pytest.raises(StoreError, match="ALERTD_INSTANCE"):
            again.register()


def test_a_restart_on_the_same_host_after_a_crash_takes_its_name_back(pg_url):
    with open_postgres(pg_url, "a") as a:
        a.register()
        with psycopg.connect(pg_url) as conn:  # the row of a killed process: same host, a pid that is gone
            conn.execute("UPDATE alertd.instances SET pid = 2147483646 WHERE name = 'a'")
        a.register()
