"""The daemon and its state directory under faults: a second daemon, a full disk, a corrupt ledger.

Real processes, real files: the full disk is a real tmpfs of 768 KiB (tests/smalldisk.py).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alertd.store.ledger import Ledger
from tests.smalldisk import small_disk

from .conftest import REPO, iso, wait_until

pytestmark = pytest.mark.slow


def late_deadlines(prefix: str, n: int) -> list[dict]:
    """Deadlines an hour ahead whose reminder passed half an hour ago: sent at once (late), whatever
    the start-up took."""
    due = datetime.now(UTC) + timedelta(hours=1)
    return [{"id": f"{prefix}-{i}", "title": f"{prefix} {i}", "due": iso(due), "remind": ["90m"]} for i in range(n)]


def status(tmp_path: Path, state: Path) -> subprocess.CompletedProcess:
    env = {"ALERTD_STATE_DIR": str(state), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "alertd.cli", "status", "--json", "-c", str(tmp_path / "config")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_a_second_daemon_on_the_same_state_stops_naming_the_directory_and_the_holder(
        receiver, notify, daemon_factory, daemon_config, tmp_path):
    daemon_config(receiver.url, late_deadlines("once", 5))
    first = daemon_factory()
    notify.wait_for("READY=1")
    receiver.wait_posts(5)
    second = daemon_factory(notify_socket=None)
    assert second.proc.wait(30) == 1
    log = second.log_path.read_text()
    assert f"alertd: error: state directory {tmp_path / 'state'} is in use by another alertd (pid {first.proc.pid})" \
           in log, log
    assert "Traceback" not in log
    done = status(tmp_path, tmp_path / "state")  # beside the running daemon: no lock taken, the ledger read
    assert done.returncode == 0, done.stderr
    assert '"state": "sent"' in done.stdout
    assert first.stop() == 0
    assert len(receiver.posts) == 5, "each alert went out once"


def test_a_full_disk_at_a_burst_and_between_send_and_mark_loses_nothing_and_duplicates_nothing(
        receiver, notify, daemon_factory, daemon_config, tmp_path):
    start, burst, held = late_deadlines("start", 1), late_deadlines("burst", 40), late_deadlines("held", 20)
    with small_disk(tmp_path / "state") as disk:
        daemon_config(receiver.url, start)
        d = daemon_factory()
        notify.wait_for("READY=1")
        receiver.wait_posts(1)

        disk.fill()  # a burst arrives on a full disk: nothing can be recorded
        daemon_config(receiver.url, start + burst)
        d.signal(signal.SIGHUP)
        receiver.wait_posts(41, timeout=20)
        d.wait_event("ledger.write_failed")
        disk.free()
        d.wait_event("ledger.write_recovered", timeout=10)

        receiver.hold = True  # the next ones are in the receiver's hands when the disk fills
        daemon_config(receiver.url, start + burst + held)
        d.signal(signal.SIGHUP)
        receiver.wait_posts(61, timeout=20)
        wait_until(lambda: _all_sending(tmp_path, "held", 20), 10, "the held deliveries recorded as sending")
        disk.fill()
        receiver.release()  # accepted now: their `sent` marks meet a full disk
        wait_until(lambda: len(d.events("alert.sent")) >= 61, 20, "61 alert.sent")
        assert len(d.events("ledger.write_failed")) == 2  # once per episode
        disk.free()
        d.wait_event("ledger.write_recovered", n=2, timeout=10)
        assert d.proc.poll() is None, "the daemon lives through it"
        assert d.stop() == 0

        log = d.log_path.read_text()
        assert "Traceback" not in log and "Task exception was never retrieved" not in log
        with Ledger.open_readonly(tmp_path / "state" / "ledger.sqlite3") as ledger:
            assert ledger.counts() == {"sent": 61}

        readies = notify.count("READY=1")
        again = daemon_factory()  # a restart sends nothing twice
        notify.wait_for("READY=1", n=readies + 1)
        assert again.stop() == 0
        assert len(receiver.posts) == 61


def _all_sending(tmp_path: Path, prefix: str, n: int) -> bool:
    try:
        with Ledger.open_readonly(tmp_path / "state" / "ledger.sqlite3") as ledger:
            return sum(1 for r in ledger.unfinished() if r.deadline_id.startswith(prefix)
                       and r.state == "sending") == n
    except Exception:  # mid-write: ask again
        return False


@pytest.mark.parametrize("damage", ["page", "row"])
def test_a_damaged_ledger_stops_the_start_with_one_line(receiver, daemon_factory, daemon_config, tmp_path,
                                                        damage: str):
    daemon_config(receiver.url, late_deadlines("x", 30))
    d = daemon_factory()
    receiver.wait_posts(30)
    assert d.stop() == 0
    path = tmp_path / "state" / "ledger.sqlite3"
    if damage == "page":  # the root page of the deliveries table: a page certainly in use
        conn = sqlite3.connect(path)
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'deliveries'").fetchone()[0]
        conn.close()
        with path.open("r+b") as f:
            f.seek((root - 1) * page_size)  # its header: a page type that does not exist, cell counts
            f.write(b"\x5a" * 64)
    else:  # an open row with a date that is not one
        conn = sqlite3.connect(path)
        with conn:
            conn.execute("UPDATE deliveries SET state = 'pending', fire_at = '2021-02-30T00:00:00.000000Z' "
                         "WHERE deadline_id = 'x-3'")
        conn.close()
    broken = daemon_factory(notify_socket=None)
    assert broken.proc.wait(30) == 1
    log = broken.log_path.read_text()
    errors = [line for line in log.splitlines() if line.startswith("alertd: error:")]
    assert len(errors) == 1 and str(path) in errors[0], log
    assert "Traceback" not in log
    done = status(tmp_path, tmp_path / "state")
    assert done.returncode == 1 and str(path) in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("name", "text", "message"), [
    ("a.yaml", "deadlines: &x [*x]\n", "a.yaml:1: alias *x refers to a node that contains it (a cycle)"),
    ("a.yaml", "deadlines:\n" + "- " * 100_000 + "x\n", "a.yaml:2: nested more than 64 levels deep"),
    ("a.toml", "x = " + "9" * 5000 + "\n", "a.toml:1: a number (or a run of digits) longer than 1,000 characters"),
    ("a.toml", "x = " + "[" * 1000 + "]" * 1000 + "\n", "a.toml:1: nested more than 64 levels deep"),
])
def test_a_hostile_config_at_start_exits_78_naming_file_and_line(tmp_path, name: str, text: str, message: str):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    env["ALERTD_STATE_DIR"] = str(tmp_path / "state")
    done = subprocess.run([sys.executable, "-m", "alertd.cli", "run", "-c", str(tmp_path / "config")], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 78, done.stderr
    assert f"{tmp_path / 'config'}/{message}" in done.stderr
    assert "Traceback" not in done.stderr
