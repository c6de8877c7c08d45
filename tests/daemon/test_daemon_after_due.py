"""After the due, with a real daemon, real commands beside it and real loopback receivers.

Repeats every 2 s and an escalation step arrive; `alertd ack` (a real command) stops them within a
second and the notice reaches exactly the channels that got them; `done` stops everything; a snooze
holds three reminders and sends only the last, late, when it ends; after downtime only the latest
repeat goes; a repeat cut by kill -9 is resent with its key.

A deadline that passed before alertd ever saw it sends nothing, and a test must not time a due
against the daemon's start-up; so the tests tell the ledger, through the store's own `see`, that
the deadline was seen an hour ago, and the daemon may start late without changing what is sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alertd.store.ledger import LEDGER_FILE, Ledger

from .conftest import REPO, SECRET, Receiver, iso, parse_instant, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def receivers():
    made: dict[str, Receiver] = {}

    def get(name: str) -> Receiver:
        if name not in made:
            made[name] = Receiver()
        return made[name]

    yield get
    for r in made.values():
        r.close()


def write_config(tmp_path: Path, receivers, deadlines: list[dict[str, Any]], channels: tuple[str, ...]) -> None:
    directory = tmp_path / "config"
    directory.mkdir(exist_ok=True)
    doc = {"channels": {name: {"type": "webhook", "url": receivers(name).url, "secret": SECRET} for name in channels},
           "defaults": {"channels": [channels[0]]}, "deadlines": deadlines}
    (directory / "alertd.yaml").write_text(json.dumps(doc, indent=1))


def seen(tmp_path: Path, *pairs: tuple[str, datetime]) -> None:
    """The ledger remembers these deadlines as seen an hour ago (as a daemon running then would)."""
    with Ledger.open(tmp_path / "state" / LEDGER_FILE) as ledger:
        ledger.see(pairs, now=datetime.now(UTC) - timedelta(hours=1))


def command(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    env |= {"ALERTD_STATE_DIR": str(tmp_path / "state"), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "alertd.cli", *args, "-c", str(tmp_path / "config")], env=env,
                          capture_output=True, text=True, timeout=60, cwd=REPO, check=False)


def kinds(r: Receiver) -> list[str]:
    return [p["json"]["type"] for p in r.posts]


def of(r: Receiver, kind: str) -> list[dict[str, Any]]:
    return [p for p in r.posts if p["json"]["type"] == kind]


@pytest.fixture
def without_inotify(tmp_path: Path) -> dict[str, str]:
    """The daemon's environment on a system without inotify: the loop must ask the store every tick."""
    site = tmp_path / "no-inotify"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import alertd.store.inotify as m\n"
                                           "m.FileWatch.open = classmethod(lambda cls, path: None)\n")
    return {"PYTHONPATH": f"{site}{os.pathsep}{REPO}"}


@pytest.mark.parametrize("case", [("ack", "deadline.acknowledged", True), ("done", "deadline.done", True),
                                  ("ack", "deadline.acknowledged", False)], ids=["ack", "done", "ack-polling"])
def test_repeats_and_a_step_arrive_and_a_command_beside_the_daemon_stops_them_within_a_second(
        tmp_path, receivers, daemon_factory, case, without_inotify):
    """(command, its notice, whether the daemon can wait on inotify or must ask the store every tick)"""
    act, notice, watch = case
    due = datetime.now(UTC) + timedelta(seconds=1)
    write_config(tmp_path, receivers, [{
        "id": "late-report", "title": "Late report", "due": iso(due), "remind": ["0"], "repeat": "2s",
        "repeat_for": "1h", "escalate": [{"after": "3s", "channels": ["duty"]}, {"after": "1h", "channels": ["boss"]}],
    }], ("ops", "duty", "boss"))
    seen(tmp_path, ("late-report", due))
    ops, duty, boss = receivers("ops"), receivers("duty"), receivers("boss")
    d = daemon_factory(env=None if watch else without_inotify)
    wait_until(lambda: len(of(ops, "deadline.overdue")) >= 2 and of(duty, "deadline.escalation"), 20,
               "two repeats and the escalation step")
    ready = parse_instant(d.wait_event("daemon.ready")[0]["timestamp"])
    for p in of(ops, "deadline.overdue") + of(duty, "deadline.escalation"):
        planned = parse_instant(p["json"]["data"]["scheduled_for"])
        assert p["at"] >= planned, "never early"
        if planned > ready + 0.3:  # planned while the daemon ran (not caught up at its start): on time
            assert p["at"] - planned < 0.5, f"{p['json']['data']['lead']} came {p['at'] - planned:.3f} s late"
    leads = [p["json"]["data"]["lead"] for p in of(ops, "deadline.overdue")]
    assert leads[:2] == ["-PT2S", "-PT4S"] or len(set(leads)) == len(leads), leads
    assert "OVERDUE by" in of(ops, "deadline.overdue")[0]["json"]["data"]["text"]
    assert of(duty, "deadline.escalation")[0]["json"]["data"]["escalation_step"] == 1

    result = command(tmp_path, act, "late-report", "--by", "alice", "--note", "on it")
    assert result.returncode == 0, result.stderr
    [applied] = d.wait_event("state.applied")
    assert (applied["deadline"], applied["act"], applied["by"]) == ("late-report", act, "alice")
    assert 0 <= applied["lag_ms"] <= 1000, f"applied {applied['lag_ms']} ms after the command recorded it"
    applied_at = parse_instant(applied["timestamp"])

    wait_until(lambda: of(ops, notice) and of(duty, notice), 10, "the notices")
    [to_ops], [to_duty] = of(ops, notice), of(duty, notice)
    assert to_ops["json"]["data"]["by"] == "alice" and to_ops["json"]["data"]["note"] == "on it"
    assert to_ops["json"]["data"]["alert_id"] != to_duty["json"]["data"]["alert_id"]
    assert to_ops["headers"]["webhook-id"] == to_ops["json"]["data"]["alert_id"]
    # The next repeat would have come within 2 s of the last one: let that instant pass (a ceiling,
    # not a guess), then nothing was planned after the change was applied.
    last = max(parse_instant(p["json"]["data"]["scheduled_for"]) for p in of(ops, "deadline.overdue"))
    wait_until(lambda: time.time() > max(last, applied_at) + 2.5, 10, "the next repeat's instant to pass")
    assert all(parse_instant(p["json"]["data"]["scheduled_for"]) <= applied_at for p in of(ops, "deadline.overdue"))
    assert kinds(boss) == [], "the step to boss never came, so neither does the notice"
    assert len(of(ops, notice)) == 1 and len(of(duty, notice)) == 1
    assert d.stop() == 0


def test_an_ack_while_the_daemon_is_down_stops_the_repeats_and_notifies_when_it_is_back(
        tmp_path, receivers, daemon_factory):
    due = datetime.now(UTC) + timedelta(seconds=1)
    write_config(tmp_path, receivers, [{"id": "late-report", "title": "Late report", "due": iso(due),
                                        "remind": ["0"], "repeat": "2s"}], ("ops",))
    seen(tmp_path, ("late-report", due))
    ops = receivers("ops")
    d = daemon_factory()
    wait_until(lambda: of(ops, "deadline.overdue"), 20, "a repeat")
    assert d.stop() == 0
    result = command(tmp_path, "ack", "late-report", "--by", "alice")
    assert result.returncode == 0, result.stderr
    repeats = len(of(ops, "deadline.overdue"))
    again = daemon_factory()
    wait_until(lambda: of(ops, "deadline.acknowledged"), 20, "the notice after the restart")
    again.wait_event("daemon.ready")
    assert len(of(ops, "deadline.overdue")) == repeats, "the ack was in force from the start"
    assert again.stop() == 0


def test_done_before_the_due_and_status_done_in_the_config_send_nothing(tmp_path, receivers, daemon_factory):
    """The 1 h reminder of each has just passed while the due is ahead: an open deadline sends it at once."""
    due = datetime.now(UTC) + timedelta(minutes=30)
    ahead = {"due": iso(due), "remind": ["1h", "0"], "repeat": "2s"}
    write_config(tmp_path, receivers, [{"id": "open", "title": "Open", **ahead},
                                       {"id": "marked", "title": "Marked done", **ahead},
                                       {"id": "filed", "title": "Done in config", **ahead, "status": "done"}], ("ops",))
    result = command(tmp_path, "done", "marked", "--by", "alice")
    assert result.returncode == 0, result.stderr
    d = daemon_factory()
    [post] = receivers("ops").wait_posts(1)
    assert post["json"]["data"]["deadline"]["id"] == "open"
    d.wait_event("daemon.ready")
    with Ledger.open(tmp_path / "state" / LEDGER_FILE) as ledger:  # all three were decided in the start-up pass
        assert {r.deadline_id for r in ledger.iter_all()} == {"open"}
    assert d.stop() == 0
    assert len(receivers("ops").posts) == 1


def test_a_snooze_across_three_reminders_sends_only_the_last_late_when_it_ends(tmp_path, receivers, daemon_factory):
    now = datetime.now(UTC)
    due = now + timedelta(seconds=60)
    write_config(tmp_path, receivers, [{"id": "held", "title": "Held", "due": iso(due),
                                        "remind": ["58s", "57s", "56s", "0"]}], ("ops",))  # at +2, +3, +4 s
    seen(tmp_path, ("held", due))
    until = now + timedelta(seconds=6)
    result = command(tmp_path, "snooze", "held", "--until", iso(until), "--by", "bob")
    assert result.returncode == 0, result.stderr
    d = daemon_factory()
    [post] = receivers("ops").wait_posts(1, timeout=20)
    data = post["json"]["data"]
    assert post["at"] >= until.timestamp(), "held until the snooze ended"
    assert data["lead"] == "PT56S" and data["late_by_seconds"] >= 1
    assert "reminder is late" in data["text"]
    with Ledger.open(tmp_path / "state" / LEDGER_FILE) as ledger:
        got = {r.lead: (r.state, r.reason) for r in ledger.iter_all()}
    assert got["PT58S"] == got["PT57S"] == ("superseded", "superseded_by_later_alert")
    assert d.stop() == 0
    assert len(receivers("ops").posts) == 1


def test_after_downtime_only_the_latest_repeat_goes(tmp_path, receivers, daemon_factory):
    due = datetime.now(UTC) - timedelta(seconds=9)
    write_config(tmp_path, receivers, [{"id": "missed", "title": "Missed", "due": iso(due), "remind": ["0"],
                                        "repeat": "2s", "repeat_for": "1h"}], ("ops",))
    seen(tmp_path, ("missed", due))
    d = daemon_factory()
    [first] = receivers("ops").wait_posts(1)
    data = first["json"]["data"]
    assert first["json"]["type"] == "deadline.overdue"
    started = parse_instant(d.wait_event("daemon.ready")[0]["timestamp"])
    lead_s = -int(data["lead"].removeprefix("-PT").removesuffix("S"))
    assert lead_s % 2 == 0 and -lead_s <= started - due.timestamp() < -lead_s + 2, "the latest repeat at start"
    with Ledger.open(tmp_path / "state" / LEDGER_FILE) as ledger:
        rows = {r.lead: r for r in ledger.iter_all()}
    assert (rows["PT0S"].state, rows["PT0S"].reason) == ("superseded", "superseded_by_later_alert")
    assert not [lead for lead in rows if lead.startswith("-") and lead != data["lead"] and
                -int(lead.removeprefix("-PT").removesuffix("S")) > lead_s], "older repeats are not sent"
    receivers("ops").wait_posts(2)  # and the repeats go on from there
    assert d.stop() == 0


def test_a_repeat_cut_by_kill_9_is_sent_again_with_the_same_key(tmp_path, receivers, daemon_factory):
    # Passed already, so the start-up's speed changes nothing: with the due still ahead, a daemon
    # ready within a second sent the 1h reminder late first (the due was timed against start-up).
    due = datetime.now(UTC) - timedelta(seconds=1)
    write_config(tmp_path, receivers, [{"id": "cut", "title": "Cut", "due": iso(due), "remind": ["1h"],
                                        "repeat": "2s", "repeat_for": "2s"}], ("ops",))  # one repeat, at +2 s
    seen(tmp_path, ("cut", due))
    ops = receivers("ops")
    ops.hold = True  # the receiver has the request and has not answered when the daemon dies
    d = daemon_factory()
    [first] = ops.wait_posts(1, timeout=20)
    assert first["json"]["type"] == "deadline.overdue"
    d.kill()
    ops.release()
    again = daemon_factory()
    posts = ops.wait_posts(2, timeout=20)
    assert posts[1]["json"]["type"] == "deadline.overdue"
    assert posts[1]["headers"]["webhook-id"] == first["headers"]["webhook-id"] == first["json"]["data"]["alert_id"]
    again.wait_event("alert.sent")
    assert [e["alert_id"] for e in again.events("alert.resend")] == [first["json"]["data"]["alert_id"]]
    assert again.stop() == 0
    assert len(ops.posts) == 2, "nothing else"
