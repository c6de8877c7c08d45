"""Wall-clock jumps under libfaketime: the daemon's wall clock moves, its monotonic clock does not.

The library is the one the test extra's `libfaketime` package compiles from libfaketime's C source
(see pyproject.toml), never a system package, so every machine runs the same build.
libfaketime re-reads FAKETIME_TIMESTAMP_FILE at most every FAKETIME_CACHE_DURATION seconds, so a
jump written to the file reaches the daemon within a second; the daemon must then act within the
rest of the 2 s budget.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ..hostdeps import libfaketime_path, probe_libfaketime
from .conftest import iso, parse_instant

pytestmark = pytest.mark.slow


def libfaketime() -> str:
    """The library built by the test extra's `libfaketime` package, checked to move a clock."""
    try:
        path = libfaketime_path()
        probe_libfaketime(path)
    except LookupError as error:
        # Not a skip: without this test nobody checks the clock-jump promise.
        pytest.fail(str(error))
    return str(path)


def faketime_env(stamp_file: Path) -> dict[str, str]:
    stamp_file.write_text("+0\n")
    return {"LD_PRELOAD": libfaketime(), "FAKETIME_TIMESTAMP_FILE": str(stamp_file),
            "FAKETIME_DONT_FAKE_MONOTONIC": "1", "FAKETIME_CACHE_DURATION": "1"}


def test_an_alert_two_hours_ahead_is_sent_within_2_s_of_a_2_h_forward_jump(
        receiver, notify, daemon_factory, daemon_config, tmp_path):
    stamp = tmp_path / "faketime"
    env = faketime_env(stamp)
    due = datetime.now(UTC) + timedelta(hours=2) - timedelta(seconds=2)
    daemon_config(receiver.url, [{"id": "later", "title": "Later", "due": iso(due), "remind": ["0"]}])
    d = daemon_factory(env=env)
    notify.wait_for("READY=1")
    stamp.write_text("+2h\n")
    jumped = time.time()
    [post] = receiver.wait_posts(1, timeout=5)
    took = post["at"] - jumped
    print(f"sent {took:.3f} s after the jump")
    assert took <= 2.0
    assert parse_instant(post["json"]["timestamp"]) >= parse_instant(post["json"]["data"]["scheduled_for"])
    d.wait_event("clock.jumped")
    assert d.stop() == 0
    assert len(receiver.posts) == 1


def test_after_a_backward_jump_nothing_fires_early(receiver, notify, daemon_factory, daemon_config, tmp_path):
    stamp = tmp_path / "faketime"
    env = faketime_env(stamp)
    daemon_config(receiver.url, [])
    d = daemon_factory(env=env)
    notify.wait_for("READY=1")
    due = datetime.now(UTC) + timedelta(seconds=3.5)
    daemon_config(receiver.url, [{"id": "soon", "title": "Soon", "due": iso(due), "remind": ["0"]}])
    d.reload()
    stamp.write_text("-3\n")  # the wall clock steps back 3 s: the alert is now ~3 s further away
    [post] = receiver.wait_posts(1, timeout=12)
    sent_at = parse_instant(post["json"]["timestamp"])  # the daemon's (fake) wall clock when it sent
    assert sent_at >= due.timestamp(), "fired before its instant on the daemon's own clock"
    assert post["at"] >= due.timestamp() + 1.5, "it waited for the stepped-back clock to reach the instant"
    assert d.stop() == 0
