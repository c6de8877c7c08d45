"""Start, reload, stop and refuse to start: the daemon's lifecycle as a real subprocess."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from alertd.store.ledger import Ledger

from .conftest import REPO, iso, just_passed, parse_instant, wait_until

pytestmark = pytest.mark.slow


def test_sigterm_exits_0_and_says_stopping(receiver, notify, daemon_factory, daemon_config):
    daemon_config(receiver.url, [{"id": "far", "title": "Far", "due": iso(datetime.now(UTC) + timedelta(days=3))}])
    d = daemon_factory()
    notify.wait_for("READY=1")
    assert any(m.startswith("STATUS=1 deadlines; next: far at") or "STATUS=1 deadlines" in m for m in notify.messages)
    d.signal(signal.SIGTERM)
    assert d.proc.wait(10) == 0
    notify.wait_for("STOPPING=1")
    assert d.events("daemon.stopping")


def test_sigint_is_graceful_too(receiver, notify, daemon_factory, daemon_config):
    daemon_config(receiver.url, [{"id": "far", "title": "Far", "due": iso(datetime.now(UTC) + timedelta(days=3))}])
    d = daemon_factory()
    notify.wait_for("READY=1")
    d.signal(signal.SIGINT)
    assert d.proc.wait(10) == 0


def test_sighup_adds_a_deadline(receiver, notify, daemon_factory, daemon_config):
    far = {"id": "far", "title": "Far", "due": iso(datetime.now(UTC) + timedelta(days=3))}
    daemon_config(receiver.url, [far])
    d = daemon_factory()
    notify.wait_for("READY=1")
    due = datetime.now(UTC) + timedelta(seconds=1.5)
    daemon_config(receiver.url, [far, {"id": "new", "title": "New", "due": iso(due), "remind": ["0"]}])
    d.signal(signal.SIGHUP)
    notify.wait_for("RELOADING=1")
    assert any("MONOTONIC_USEC=" in m for m in notify.messages if "RELOADING=1" in m)
    notify.wait_for("READY=1", n=2)
    [event] = d.wait_event("config.reloaded")
    assert (event["added"], event["removed"], event["changed"]) == (1, 0, 0)
    [post] = receiver.wait_posts(1)
    assert post["json"]["data"]["deadline"]["id"] == "new"
    assert 0 <= post["at"] - parse_instant(post["json"]["data"]["scheduled_for"]) < 0.25
    assert d.stop() == 0


def test_sighup_removes_a_deadline_and_it_never_fires(receiver, notify, daemon_factory, daemon_config):
    daemon_config(receiver.url, [])
    d = daemon_factory()
    notify.wait_for("READY=1")
    due = datetime.now(UTC) + timedelta(seconds=2)
    daemon_config(receiver.url, [{"id": "doomed", "title": "Doomed", "due": iso(due), "remind": ["0"]}])
    d.reload()
    daemon_config(receiver.url, [{"id": "other", "title": "Other", "due": iso(due + timedelta(seconds=0.5)),
                                  "remind": ["0"]}])
    d.reload()
    [post] = receiver.wait_posts(1)  # half a second after the removed one would have fired
    assert post["json"]["data"]["deadline"]["id"] == "other"
    assert d.stop() == 0
    assert len(receiver.posts) == 1


def test_a_broken_config_on_sighup_is_refused_and_the_old_schedule_keeps_firing(
        receiver, notify, daemon_factory, daemon_config, tmp_path):
    daemon_config(receiver.url, [])
    d = daemon_factory()
    notify.wait_for("READY=1")
    due = datetime.now(UTC) + timedelta(seconds=2.5)
    daemon_config(receiver.url, [{"id": "kept", "title": "Kept", "due": iso(due), "remind": ["0"]}])
    d.reload()
    (tmp_path / "config" / "broken.yaml").write_text("deadlines:\n  - id: Bad Id\n    due: tomorrow\nextra: 1\n")
    d.signal(signal.SIGHUP)
    failures = d.wait_event("config.reload_failed", n=2)
    problems = [e["problem"] for e in failures if "problem" in e]
    assert any("broken.yaml" in p and "extra" in p for p in problems), problems
    assert len(problems) >= 2, "every error is logged"
    notify.wait_for("READY=1", n=3)
    [post] = receiver.wait_posts(1)
    assert post["json"]["data"]["deadline"]["id"] == "kept"
    assert d.stop() == 0


def test_watchdog_is_pinged_at_half_the_period(receiver, notify, daemon_factory, daemon_config):
    daemon_config(receiver.url, [{"id": "far", "title": "Far", "due": iso(datetime.now(UTC) + timedelta(days=3))}])
    d = daemon_factory(env={"WATCHDOG_USEC": "400000"})
    notify.wait_for("READY=1")
    notify.wait_for("WATCHDOG=1", n=3, timeout=3)
    assert d.stop() == 0


def run(args, tmp_path, env=None, timeout=20):
    full = {"PATH": "/usr/bin:/bin", "ALERTD_STATE_DIR": str(tmp_path / "state"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "alertd.cli", "run", *args], cwd=REPO, env=full,
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_an_invalid_config_at_start_exits_78_with_every_error(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "a.yaml").write_text("deadlines:\n  - id: x\n    title: X\n    due: 2021-13-01\n"
                                                "    channels: [nowhere]\ntypo: 1\n")
    result = run(["-c", str(tmp_path / "config")], tmp_path)
    assert result.returncode == 78
    lines = [line.replace(str(tmp_path / "config" / "a.yaml"), "a.yaml") for line in result.stderr.splitlines()
             if "a.yaml" in line]
    assert lines == [  # the bad date, the channel no file defines and the unknown key: all three
        "a.yaml:4: deadline 'x': due '2021-13-01' is not a real date: month must be in 1..12",
        "a.yaml:5: deadline 'x': channel 'nowhere' is not defined",
        "a.yaml:6: unknown top-level key 'typo'",
    ], result.stderr
    assert not (tmp_path / "state").exists(), "nothing is written for a config that was refused"


def test_an_unusable_state_directory_is_named_and_exits_nonzero(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "a.yaml").write_text("channels: {out: {type: console}}\ndeadlines: []\n")
    (tmp_path / "blocker").write_text("a file where a directory should be")
    result = run(["-c", str(tmp_path / "config")], tmp_path, env={"ALERTD_STATE_DIR": str(tmp_path / "blocker" / "s")})
    assert result.returncode != 0
    assert str(tmp_path / "blocker" / "s") in result.stderr


def test_a_corrupt_ledger_is_named_and_exits_nonzero(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "a.yaml").write_text("channels: {out: {type: console}}\ndeadlines: []\n")
    (tmp_path / "state").mkdir()
    ledger = tmp_path / "state" / "ledger.sqlite3"
    ledger.write_bytes(b"\x00garbage" * 1000)
    result = run(["-c", str(tmp_path / "config")], tmp_path)
    assert result.returncode != 0
    assert str(ledger) in result.stderr
    assert ledger.read_bytes() == b"\x00garbage" * 1000, "the broken file is left as it was"


def test_the_ready_notification_waits_for_the_start_up_pass(receiver, notify, daemon_factory, daemon_config):
    """READY=1 is sent once, after the ledger is open and the plan is armed; STATUS names the next alert."""
    due = datetime.now(UTC) + timedelta(days=1)
    daemon_config(receiver.url, [{"id": "next-one", "title": "Next", "due": iso(due), "remind": ["1h"]}])
    d = daemon_factory()
    notify.wait_for("READY=1")
    wait_until(lambda: any("next-one" in m for m in notify.messages), 5, "STATUS naming the next deadline")
    [ready] = d.wait_event("daemon.ready")
    assert ready["deadlines"] == 1
    assert d.stop() == 0


def test_sighup_with_a_changed_due_replans_and_resends_nothing(receiver, notify, daemon_factory, daemon_config):
    """The alert already sent stays sent; the new due is a new alert that fires at its own instant."""
    daemon_config(receiver.url, [])
    d = daemon_factory()
    notify.wait_for("READY=1")
    due = datetime.now(UTC) + timedelta(seconds=1.5)
    daemon_config(receiver.url, [{"id": "moving", "title": "Moving", "due": iso(due), "remind": ["0"]},
                                 {"id": "steady", "title": "Steady", "due": iso(due), "remind": ["0"]}])
    d.reload()
    receiver.wait_posts(2)
    new_due = datetime.now(UTC) + timedelta(seconds=1.5)
    daemon_config(receiver.url, [{"id": "moving", "title": "Moving", "due": iso(new_due), "remind": ["0"]},
                                 {"id": "steady", "title": "Steady", "due": iso(due), "remind": ["0"]}])
    event = d.reload()
    assert (event["added"], event["changed"], event["removed"]) == (0, 1, 0)
    posts = receiver.wait_posts(3)
    third = posts[2]["json"]["data"]
    assert third["deadline"]["id"] == "moving"
    assert parse_instant(third["scheduled_for"]) == pytest.approx(new_due.timestamp(), abs=1e-6)
    assert posts[2]["at"] >= new_due.timestamp()
    assert d.stop() == 0
    assert len(receiver.posts) == 3


def test_sigterm_lets_an_in_flight_delivery_finish(receiver, notify, daemon_factory, daemon_config, tmp_path):
    receiver.hold = True
    daemon_config(receiver.url, [just_passed("busy")])
    d = daemon_factory()
    receiver.wait_posts(1)
    d.signal(signal.SIGTERM)
    notify.wait_for("STOPPING=1")
    assert d.proc.poll() is None, "it waits for the delivery in flight"
    receiver.release()
    assert d.proc.wait(10) == 0
    [stopped] = d.events("daemon.stopped")
    assert stopped["cut_short"] == 0
    with Ledger.open(tmp_path / "state" / "ledger.sqlite3") as led:
        assert [r.state for r in led.iter_all()] == ["sent"]
