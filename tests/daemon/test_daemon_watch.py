"""`alertd run --watch`: a real daemon notices files dropped into its config directory."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta

import pytest

from .conftest import iso, parse_instant

pytestmark = pytest.mark.slow


def test_a_new_deadline_file_is_picked_up_and_delivered_on_time(
        receiver, notify, daemon_factory, daemon_config, tmp_path):
    far = {"id": "far", "title": "Far", "due": iso(datetime.now(UTC) + timedelta(days=3))}
    daemon_config(receiver.url, [far])
    d = daemon_factory(args=["--watch", "200ms"])
    notify.wait_for("READY=1")
    assert d.events("daemon.ready")[0]["watch_seconds"] == 0.2

    due = datetime.now(UTC) + timedelta(seconds=2)
    (tmp_path / "config" / "new.yaml").write_text(json.dumps(
        {"deadlines": [{"id": "new", "title": "New", "due": iso(due), "remind": ["0"], "channels": ["hook"]}]}))
    [changed] = d.wait_event("config.changed")
    assert changed["added"] == ["new.yaml"]
    [reloaded] = d.wait_event("config.reloaded")
    assert (reloaded["added"], reloaded["changed"], reloaded["removed"], reloaded["trigger"]) == (1, 0, 0, "watch")
    notify.wait_for("RELOADING=1")  # the same notifications as a SIGHUP reload
    notify.wait_for("READY=1", n=2)

    [post] = receiver.wait_posts(1)
    assert post["json"]["data"]["deadline"]["id"] == "new"
    assert 0 <= post["at"] - parse_instant(post["json"]["data"]["scheduled_for"]) < 0.25
    assert len(d.events("config.reloaded")) == 1, "one change, one reload"
    assert d.stop() == 0


def test_a_broken_file_written_while_watching_keeps_the_old_config_until_it_is_fixed(
        receiver, notify, daemon_factory, daemon_config, tmp_path):
    daemon_config(receiver.url, [])
    d = daemon_factory(env={"ALERTD_WATCH": "200ms"})
    notify.wait_for("READY=1")
    due = datetime.now(UTC) + timedelta(seconds=3)  # after the two changes below settle (~0.5 s each)
    daemon_config(receiver.url, [{"id": "kept", "title": "Kept", "due": iso(due), "remind": ["0"]}])
    d.wait_event("config.reloaded")

    broken = tmp_path / "config" / "broken.yaml"
    broken.write_text("deadlines:\n  - id: Bad Id\n")
    failures = d.wait_event("config.reload_failed", n=2)
    assert any("broken.yaml" in e.get("problem", "") for e in failures)
    assert failures[-1]["trigger"] == "watch" and failures[-1]["action"] == "kept the running config"
    notify.wait_for("READY=1", n=3)

    [post] = receiver.wait_posts(1)
    assert post["json"]["data"]["deadline"]["id"] == "kept"
    assert 0 <= post["at"] - parse_instant(post["json"]["data"]["scheduled_for"]) < 0.25

    broken.write_text(json.dumps({"deadlines": [{"id": "fixed", "title": "Fixed", "channels": ["hook"], "remind": ["0"],
                                                 "due": iso(datetime.now(UTC) + timedelta(days=1))}]}))
    reloaded = d.wait_event("config.reloaded", n=2)[-1]
    assert (reloaded["added"], reloaded["trigger"]) == (1, "watch")
    assert d.stop() == 0
    assert len(receiver.posts) == 1


def test_sighup_after_an_edit_is_not_followed_by_a_second_reload_from_the_watch(
        receiver, notify, daemon_factory, daemon_config, tmp_path):
    far = {"id": "far", "title": "Far", "due": iso(datetime.now(UTC) + timedelta(days=3))}
    daemon_config(receiver.url, [far])
    d = daemon_factory(args=["--watch", "500ms"])
    notify.wait_for("READY=1")
    daemon_config(receiver.url, [far, {"id": "other", "title": "Other",
                                       "due": iso(datetime.now(UTC) + timedelta(days=2))}])
    d.signal(signal.SIGHUP)  # well before the watch's second look at the edit
    [reloaded] = d.wait_event("config.reloaded")
    assert (reloaded["added"], reloaded["trigger"]) == (1, "signal")

    (tmp_path / "config" / "later.yaml").write_text("deadlines: []\n")
    [changed] = d.wait_event("config.changed")
    assert (changed["added"], changed["modified"]) == (["later.yaml"], []), "the SIGHUP reload absorbed the edit"
    reloads = d.wait_event("config.reloaded", n=2)
    assert [r["trigger"] for r in reloads] == ["signal", "watch"]
    assert d.stop() == 0
