"""On one PostgreSQL: `alertd ack` reaches every instance at once (LISTEN/NOTIFY), a notification
lost while an instance was cut off is caught by the poll after it reconnects, and `alertd status`
shows the instances and what each sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from psycopg.conninfo import make_conninfo

from tests.daemon.conftest import REPO, iso, wait_until
from tests.ha.conftest import Cluster
from tests.ha.test_ha_daemons import all_sent, far, ready, write_config
from tests.pgserver import server_address
from tests.tcpproxy import Proxy

pytestmark = pytest.mark.slow


def command(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    env |= {"ALERTD_DATABASE_URL": cluster.url, "ALERTD_INSTANCE": "cli"}
    return subprocess.run([sys.executable, "-m", "alertd.cli", *args, "-c", str(cluster.root / "config")],
                          check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def overdue_repeating(cluster: Cluster, receiver, daemons) -> None:
    """A deadline due 3 s from now that repeats every 2 s after its due."""
    due = datetime.now(UTC) + timedelta(seconds=3)
    write_config(cluster, receiver.url, [*far(), {"id": "rep", "title": "Rep", "due": iso(due), "repeat": "2s",
                                                  "repeat_for": "1h"}])
    for d in daemons:
        d.reload()
    wait_until(lambda: sum(p["json"]["type"] == "deadline.overdue" for p in receiver.posts) >= 1, 60, "a repeat")


def test_an_ack_reaches_every_instance_within_1_s_and_its_notice_goes_once(cluster: Cluster, receiver) -> None:
    write_config(cluster, receiver.url, far())
    daemons = [cluster.start(n) for n in "abc"]
    for d in daemons:
        ready(d)
    overdue_repeating(cluster, receiver, daemons)
    done = command(cluster, "ack", "rep", "--by", "alice")
    assert done.returncode == 0, done.stderr
    for d in daemons:
        [applied] = d.wait_event("state.applied", timeout=30)
        assert applied["by"] == "alice"
        print(f"{d.log_path.stem}: applied {applied['lag_ms']} ms after the ack")
        assert applied["lag_ms"] < 1000
    wait_until(lambda: [p for p in receiver.posts if p["json"]["type"] == "deadline.acknowledged"], 30, "the notice")
    wait_until(lambda: cluster.rows("SELECT count(*) FROM alertd.deliveries WHERE kind = 'deadline.acknowledged' "
                                    "AND state = 'sent'")[0][0] == 1, 30, "the notice recorded sent")
    acked_at = max(p["at"] for p in receiver.posts if p["json"]["type"] == "deadline.acknowledged")
    notices = [p for p in receiver.posts if p["json"]["type"] == "deadline.acknowledged"]
    assert len(notices) == 1
    # no more repeats once every instance knows (a repeat already on the wire may land just after)
    wait_until(lambda: cluster.rows("SELECT now()")[0][0].timestamp() > acked_at + 4, 30, "two repeat periods")
    assert not [p for p in receiver.posts if p["json"]["type"] == "deadline.overdue" and p["at"] > acked_at + 1]


def test_an_ack_made_while_an_instance_is_cut_off_is_applied_after_it_reconnects(cluster: Cluster,
                                                                                   receiver) -> None:
    with Proxy(server_address(cluster.url)) as proxy:
        write_config(cluster, receiver.url, far())
        cut_off = cluster.start("a", url=make_conninfo(cluster.url, host="127.0.0.1", port=proxy.port))
        ready(cut_off)
        overdue_repeating(cluster, receiver, [cut_off])
        proxy.cut()
        cut_off.wait_event("store.listen_lost", timeout=30)
        done = command(cluster, "ack", "rep", "--by", "bob")  # straight to the database: a hears no NOTIFY
        assert done.returncode == 0, done.stderr
        proxy.restore()
        [applied] = cut_off.wait_event("state.applied", timeout=60)
        assert applied["by"] == "bob"
        assert cut_off.proc.poll() is None


def test_status_shows_the_instances_and_who_sent_what(cluster: Cluster, receiver) -> None:
    write_config(cluster, receiver.url, [*far(), {"id": "now", "title": "Now", "due": iso(
        datetime.now(UTC) + timedelta(hours=2)), "remind": ["2h"]}])
    daemons = {n: cluster.start(n) for n in "ab"}
    for d in daemons.values():
        ready(d)
    wait_until(lambda: all_sent(cluster, 1), 60, "the reminder sent")
    assert daemons["b"].stop() == 0
    shown = command(cluster, "status", "--json")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert [(i["name"], i["alive"], i["stopped_at"] is not None) for i in doc["instances"]] == [
        ("a", True, False), ("b", False, True)]
    [sent] = [r for r in doc["recent"] if r["deadline"] == "now"]
    assert sent["state"] == "sent" and sent["by"] in ("a", "b")
    text = command(cluster, "status")
    assert text.returncode == 0, text.stderr
    assert "instances:" in text.stdout and "  a  alive" in text.stdout and "  b  stopped" in text.stdout
    assert f"by {sent['by']}" in text.stdout
    assert text.stdout.startswith("database postgresql://postgres@")
