"""Three `alertd run` processes on one PostgreSQL: every delivery once, a dead one's work taken over.

Real processes, real signals, a loopback receiver, a fresh database per test. Waits are on
conditions with generous ceilings; the only times asserted are the functional bounds the
high-availability contract states (taken over within 10 s of a kill).
"""

from __future__ import annotations

import json
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from psycopg.conninfo import make_conninfo

from alertd.store.pgschema import SCHEMA_VERSION
from tests.daemon.conftest import SECRET, iso, wait_until
from tests.daemon.test_daemon_clock import libfaketime
from tests.ha.conftest import Cluster, keys_of
from tests.pgserver import server_address
from tests.tcpproxy import Proxy

pytestmark = pytest.mark.slow


def write_config(cluster: Cluster, url: str, deadlines: list[dict[str, Any]], config: str = "config") -> None:
    directory = cluster.root / config
    directory.mkdir(exist_ok=True)
    doc = {"channels": {"hook": {"type": "webhook", "url": url, "secret": SECRET}},
           "defaults": {"channels": ["hook"], "remind": ["0s"]}, "deadlines": deadlines}
    (directory / "alertd.yaml").write_text(json.dumps(doc, indent=1))


def far(n: int = 1) -> list[dict[str, Any]]:
    due = iso(datetime.now(UTC) + timedelta(days=30))
    return [{"id": f"far-{i}", "title": "Far", "due": due} for i in range(n)]


def spread(n: int, *, start: float, over: float) -> list[dict[str, Any]]:
    """`n` deadlines due from `start` seconds from now, spread over `over` seconds."""
    base = datetime.now(UTC) + timedelta(seconds=start)
    return [{"id": f"d{i:04d}", "title": f"D{i}", "due": iso(base + timedelta(seconds=over * i / n))} for i in range(n)]


def ready(d) -> None:
    d.wait_event("daemon.ready", timeout=60)


def sent_rows(cluster: Cluster) -> dict[str, tuple[str, int, str | None]]:
    return {k: (s, a, by) for k, s, a, by in cluster.rows(
        "SELECT key, state, attempts, claimed_by FROM alertd.deliveries")}


def each_once(cluster: Cluster, receiver, daemons, n: int, *, start: float, over: float) -> None:
    """The instances are READY: add `n` deadlines due from `start` s on, reload; each key arrives once."""
    for d in daemons:
        ready(d)
    write_config(cluster, receiver.url, far() + spread(n, start=start, over=over))
    for d in daemons:
        d.reload()
    receiver.wait_posts(n, timeout=60)
    wait_until(lambda: all_sent(cluster, n), 30, f"{n} rows recorded sent")
    # One attempt each: a second request for a key, even one still on its way, was recorded first.
    assert {a for _, a, _ in sent_rows(cluster).values()} == {1}
    counts = keys_of(receiver.posts)
    assert len(counts) == n and set(counts.values()) == {1}, [k for k, c in counts.items() if c > 1]


def test_three_instances_send_each_of_300_alerts_once(cluster: Cluster, receiver) -> None:
    write_config(cluster, receiver.url, far())
    daemons = [cluster.start(n) for n in "abc"]
    each_once(cluster, receiver, daemons, 300, start=4, over=4)
    by = {by for _, _, by in sent_rows(cluster).values()}
    assert by <= {"a", "b", "c"}
    for d in daemons:
        assert d.proc.poll() is None
        assert d.stop() == 0
    stopped = cluster.rows("SELECT name FROM alertd.instances WHERE stopped_at IS NOT NULL ORDER BY name")
    assert [n for (n,) in stopped] == ["a", "b", "c"]


def start_with_own_receivers(cluster: Cluster, receivers, names: str, env: dict[str, str] | None = None):
    daemons = {}
    for n in names:
        write_config(cluster, receivers(n).url, far(), config=f"config-{n}")
        daemons[n] = cluster.start(n, config=f"config-{n}", env=env)
    for d in daemons.values():
        ready(d)
    return daemons


def add_deadlines(cluster: Cluster, receivers, daemons, deadlines) -> None:
    for n, d in daemons.items():
        write_config(cluster, receivers(n).url, far() + deadlines, config=f"config-{n}")
        d.reload()


def all_sent(cluster: Cluster, n: int) -> bool:
    return sum(s == "sent" for s, _, _ in sent_rows(cluster).values()) == n


def test_a_killed_instances_claims_are_taken_over_within_10_s_and_only_its_sent_requests_repeat(
        cluster: Cluster, receivers) -> None:
    receivers("a").hold = True  # a's receiver answers only after the kill: a dies holding claims mid-send
    daemons = start_with_own_receivers(cluster, receivers, "abc")
    add_deadlines(cluster, receivers, daemons, spread(60, start=4, over=1))
    wait_until(lambda: len(receivers("a").posts) >= 1, 60, "a sends something")
    held_before = cluster.rows("SELECT key FROM alertd.deliveries WHERE claimed_by = 'a' AND state IN "
                               "('pending', 'sending')")
    killed_at = time.time()
    daemons["a"].proc.send_signal(signal.SIGKILL)
    daemons["a"].proc.wait(10)
    held = {k for (k,) in held_before} | {k for (k,) in cluster.rows(
        "SELECT key FROM alertd.deliveries WHERE claimed_by = 'a' AND state IN ('pending', 'sending')")}
    receivers("a").release()
    wait_until(lambda: all_sent(cluster, 60), 60, "all 60 sent")
    sent_by_a = {p["headers"]["webhook-id"] for p in receivers("a").posts}
    # every request of b and c was recorded before it left: a repeat is an attempt 2 of a key a had sent
    assert {k for k, (_, a, _) in sent_rows(cluster).items() if a > 1} <= sent_by_a | held
    others = receivers("b").posts + receivers("c").posts
    counts = keys_of(receivers("a").posts + others)
    assert len(counts) == 60
    repeated = {k for k, n in counts.items() if n > 1}
    assert repeated <= sent_by_a, "only requests the killed instance had already sent are sent again"
    assert set(counts.values()) <= {1, 2}
    assert all(p["at"] < killed_at for p in receivers("a").posts)
    assert held, "a held claims when it was killed"
    first_after = {}
    for p in others:
        k = p["headers"]["webhook-id"]
        if k in held:
            first_after[k] = min(first_after.get(k, p["at"]), p["at"])
    assert set(first_after) == held
    took = max(first_after.values()) - killed_at
    print(f"the last of {len(held)} claims of the killed instance was sent {took:.2f} s after the kill")
    assert took < 10
    for n in "bc":
        assert daemons[n].proc.poll() is None


def test_an_instance_frozen_past_its_lease_sends_nothing_that_another_took_over(cluster: Cluster, receivers) -> None:
    receivers("a").hold = True
    daemons = start_with_own_receivers(cluster, receivers, "ab")
    add_deadlines(cluster, receivers, daemons, spread(30, start=4, over=1))
    wait_until(lambda: len(receivers("a").posts) >= 1, 60, "a sends something")
    daemons["a"].proc.send_signal(signal.SIGSTOP)
    try:
        held = {k for (k,) in cluster.rows("SELECT key FROM alertd.deliveries WHERE claimed_by = 'a' "
                                           "AND state IN ('pending', 'sending')")}
        wait_until(lambda: all_sent(cluster, 30), 60, "b sends all 30 while a is frozen")
        [(woke_db,)] = cluster.rows("SELECT now()")
    finally:
        daemons["a"].proc.send_signal(signal.SIGCONT)
    woke_at = time.time()
    receivers("a").release()
    # a's loop has run for a while once it recorded a second heartbeat after waking
    wait_until(lambda: cluster.rows("SELECT heartbeat_at > %s + interval '2 s' FROM alertd.instances "
                                    "WHERE name = 'a'", woke_db)[0][0], 30, "a beats twice after waking")
    assert held, "a held claims when it froze"
    taken = dict(cluster.rows("SELECT key, claimed_by FROM alertd.deliveries WHERE state = 'sent'"))
    assert {taken[k] for k in held} == {"b"}  # b took over everything a held
    assert [p for p in receivers("a").posts if p["at"] >= woke_at] == []  # and a sent none of it after waking
    assert len(keys_of(receivers("b").posts)) == 30 and set(keys_of(receivers("b").posts).values()) == {1}
    assert all_sent(cluster, 30)
    assert daemons["a"].proc.poll() is None


def test_the_database_cut_across_an_instant_sends_once_late_and_the_daemons_stay(cluster: Cluster, receiver) -> None:
    with Proxy(server_address(cluster.url)) as proxy:
        via = make_conninfo(cluster.url, host="127.0.0.1", port=proxy.port)
        write_config(cluster, receiver.url, far())
        daemons = [cluster.start(n, url=via) for n in "ab"]
        for d in daemons:
            ready(d)
        due = datetime.now(UTC) + timedelta(seconds=6)
        write_config(cluster, receiver.url, far() + [{"id": f"cut{i}", "title": "Cut", "due": iso(due)}
                                                      for i in range(5)])
        for d in daemons:
            d.reload()
        proxy.cut()
        for d in daemons:
            d.wait_event("store.unavailable", timeout=60)
        wait_until(lambda: datetime.now(UTC) > due + timedelta(seconds=2), 30, "the instant passes")
        assert receiver.posts == []
        proxy.restore()
        receiver.wait_posts(5, timeout=60)
        wait_until(lambda: all_sent(cluster, 5), 30, "all 5 recorded sent")
        assert {a for _, a, _ in sent_rows(cluster).values()} == {1}
        counts = keys_of(receiver.posts)
        assert len(counts) == 5 and set(counts.values()) == {1}
        assert all(p["json"]["data"]["late_by_seconds"] >= 1 for p in receiver.posts)
        for d in daemons:
            d.wait_event("store.restored", timeout=30)
            assert d.proc.poll() is None
            assert d.stop() == 0


def test_instances_with_skewed_clocks_still_send_once(cluster: Cluster, receiver, tmp_path) -> None:
    lib = libfaketime()
    write_config(cluster, receiver.url, far())
    daemons = []
    for n, offset in (("a", "-3"), ("b", "+0"), ("c", "+3")):
        env = {"LD_PRELOAD": lib, "FAKETIME": f"{offset}s", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
        daemons.append(cluster.start(n, env=env))
    each_once(cluster, receiver, daemons, 60, start=8, over=2)
    offsets = {d.events("store.registered")[0]["clock_offset_seconds"] for d in daemons}
    assert any(abs(o) > 2 for o in offsets), offsets  # the clocks really differ from the database's
    assert len(daemons[0].events("clock.offset")) == 1


def test_three_instances_starting_at_once_on_an_empty_database_create_the_schema_once(cluster: Cluster,
                                                                                        receiver) -> None:
    write_config(cluster, receiver.url, [{"id": "now", "title": "Now", "due": iso(datetime.now(UTC) + timedelta(
        hours=2)), "remind": ["2h"]}])
    gate = threading.Barrier(3)
    daemons = []

    def go(n: str) -> None:
        gate.wait()
        daemons.append(cluster.start(n))

    threads = [threading.Thread(target=go, args=(n,)) for n in "abc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for d in daemons:
        ready(d)
    receiver.wait_posts(1, timeout=30)
    applied = cluster.rows("SELECT version, applied_by FROM alertd.schema_version ORDER BY version")
    assert [v for v, _ in applied] == list(range(1, SCHEMA_VERSION + 1))  # each migration once
    assert len({by for _, by in applied}) == 1, applied  # all by the one that came first
    wait_until(lambda: all_sent(cluster, 1), 30, "sent")
    assert {a for _, a, _ in sent_rows(cluster).values()} == {1}
    assert len(receiver.posts) == 1


def test_a_clean_stop_cut_short_releases_its_leases_for_the_others_at_once(cluster: Cluster, receivers) -> None:
    receivers("a").hold = True  # a stops while its requests wait for an answer
    daemons = start_with_own_receivers(cluster, receivers, "ab", env={"ALERTD_SHUTDOWN_GRACE": "0.5"})
    add_deadlines(cluster, receivers, daemons, spread(20, start=4, over=1))
    wait_until(lambda: len(receivers("a").posts) >= 1, 60, "a sends something")
    assert daemons["a"].stop(timeout=30) == 0
    held = cluster.rows("SELECT key, claim_until FROM alertd.deliveries WHERE claimed_by = 'a' "
                        "AND state IN ('pending', 'sending')")
    # what a had started and not finished is open, without a lease: b may take it now, not after the lease
    assert held, "a was cut short with deliveries in flight"
    assert all(until is None for _, until in held)
    assert cluster.rows("SELECT stopped_at IS NOT NULL FROM alertd.instances WHERE name = 'a'") == [(True,)]
    receivers("a").release()
    wait_until(lambda: all_sent(cluster, 20), 60, "b sends all 20")
    assert daemons["b"].proc.poll() is None


def test_start_waits_for_the_database_and_says_so(cluster: Cluster, receiver, notify) -> None:
    with Proxy(server_address(cluster.url)) as proxy:
        proxy.cut()  # the database cannot be reached when the instance starts
        write_config(cluster, receiver.url, [*far(), {"id": "now", "title": "Now", "due": iso(
            datetime.now(UTC) + timedelta(hours=2)), "remind": ["2h"]}])
        d = cluster.start("a", url=make_conninfo(cluster.url, host="127.0.0.1", port=proxy.port), listener=notify)
        [waiting] = d.wait_event("store.unavailable", timeout=60)
        assert waiting["action"] == "waiting for the database"
        wait_until(lambda: any(m.startswith("STATUS=waiting for the database") for m in notify.messages), 30,
                   "STATUS= naming the wait")
        assert notify.count("READY=1") == 0 and d.proc.poll() is None
        proxy.restore()
        notify.wait_for("READY=1", timeout=60)
        receiver.wait_posts(1, timeout=60)
        assert d.stop() == 0
