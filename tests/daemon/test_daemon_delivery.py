"""The daemon as a real subprocess delivering to a real loopback webhook receiver."""

from __future__ import annotations

import itertools
import json
import signal
from datetime import UTC, datetime, timedelta

import pytest

from alertd.store.ledger import Ledger

from .conftest import SECRET, Receiver, iso, just_passed, parse_instant

pytestmark = pytest.mark.slow


def ledger_rows(tmp_path):
    with Ledger.open(tmp_path / "state" / "ledger.sqlite3") as led:
        return {r.lead: r for r in led.iter_all()}


def test_every_alert_arrives_once_on_time_never_early(receiver, notify, daemon_factory, daemon_config, tmp_path):
    daemon_config(receiver.url, [])
    d = daemon_factory()
    notify.wait_for("READY=1")
    due = datetime.now(UTC) + timedelta(seconds=4.5)  # the first alert (3s) 1.5 s after the reload
    daemon_config(receiver.url, [{"id": "soon", "title": "Soon", "due": iso(due), "remind": ["3s", "2s", "1s", "0"]}])
    d.reload()
    assert not receiver.posts, "nothing may fire before its instant"
    posts = receiver.wait_posts(4, timeout=10)
    lateness = [p["at"] - parse_instant(p["json"]["data"]["scheduled_for"]) for p in posts]
    print("lateness (s):", [round(x, 4) for x in lateness])
    assert all(0 <= x < 0.25 for x in lateness), lateness
    assert [p["json"]["data"]["lead"] for p in posts] == ["PT3S", "PT2S", "PT1S", "PT0S"]
    assert [p["json"]["type"] for p in posts] == ["deadline.reminder"] * 3 + ["deadline.due"]
    assert len({p["json"]["data"]["alert_id"] for p in posts}) == 4
    assert all(p["json"]["data"]["late_by_seconds"] == 0 for p in posts)
    assert all(p["headers"]["webhook-id"] == p["json"]["data"]["alert_id"] for p in posts)
    assert d.stop() == 0
    assert len(receiver.posts) == 4
    assert {r.state for r in ledger_rows(tmp_path).values()} == {"sent"}


def test_a_restart_with_the_same_state_sends_nothing_again(receiver, notify, daemon_factory, daemon_config):
    daemon_config(receiver.url, [just_passed("soon"), just_passed("also")])
    first = daemon_factory()
    receiver.wait_posts(2)
    first.wait_event("alert.sent", n=2)
    assert first.stop() == 0
    second = daemon_factory()
    notify.wait_for("READY=1", n=2)  # the start-up pass has decided and submitted everything by READY
    assert second.stop() == 0  # ... and a graceful stop lets any submitted delivery finish
    assert len(receiver.posts) == 2


def test_reminders_missed_before_start_only_the_latest_is_sent_marked_late(
        receiver, notify, daemon_factory, daemon_config, tmp_path):
    due = datetime.now(UTC) + timedelta(hours=1)
    daemon_config(receiver.url, [{"id": "later", "title": "Later", "due": iso(due),
                                  "remind": ["3h", "2h", "30m", "0"]}])
    d = daemon_factory()
    notify.wait_for("READY=1")
    assert d.stop() == 0
    [post] = receiver.posts
    data = post["json"]["data"]
    assert data["lead"] == "PT2H"
    assert 3590 <= data["late_by_seconds"] <= 3610
    rows = ledger_rows(tmp_path)
    assert {lead: (r.state, r.reason) for lead, r in rows.items()} == {
        "PT3H": ("superseded", "superseded_by_later_alert"), "PT2H": ("sent", None)}
    assert d.events("alert.superseded")


def test_a_deadline_that_passed_before_it_was_seen_sends_nothing(receiver, notify, daemon_factory, daemon_config):
    due = datetime.now(UTC) - timedelta(minutes=5)
    daemon_config(receiver.url, [{"id": "gone", "title": "Gone", "due": iso(due), "remind": ["1h", "0"]}])
    d = daemon_factory()
    notify.wait_for("READY=1")
    assert d.stop() == 0
    assert receiver.posts == []


def test_a_failed_delivery_is_retried_with_the_same_key(receiver, notify, daemon_factory, daemon_config, tmp_path):
    receiver.statuses = [503]
    daemon_config(receiver.url, [just_passed("flaky")])
    d = daemon_factory()
    posts = receiver.wait_posts(2, timeout=10)
    assert posts[0]["headers"]["webhook-id"] == posts[1]["headers"]["webhook-id"]
    assert 1.0 <= posts[1]["at"] - posts[0]["at"] <= 2.5  # first backoff: 2 s with equal jitter
    d.wait_event("alert.sent")
    assert d.events("alert.retry")[0]["error"] == "HTTP 503"
    assert d.stop() == 0
    row = ledger_rows(tmp_path)["PT2H"]
    assert (row.state, row.attempts, row.last_error) == ("sent", 2, "HTTP 503")


def test_a_permanent_failure_is_logged_and_kept(receiver, notify, daemon_factory, daemon_config, tmp_path):
    receiver.statuses = [404]
    daemon_config(receiver.url, [just_passed("gone")])
    d = daemon_factory()
    [event] = d.wait_event("alert.failed")
    assert (event["reason"], event["error"]) == ("permanent", "HTTP 404")
    assert d.stop() == 0
    assert len(receiver.posts) == 1
    assert ledger_rows(tmp_path)["PT2H"].state == "failed"
    log = d.log_path.read_text()
    assert SECRET not in log, "the signing key reached a log line"
    assert receiver.url not in log, "the webhook URL (a secret) reached a log line"


def test_kill_9_while_the_receiver_holds_the_request_resends_with_the_same_key(
        receiver, notify, daemon_factory, daemon_config, tmp_path):
    receiver.hold = True
    daemon_config(receiver.url, [just_passed("held")])
    first = daemon_factory()
    [held] = receiver.wait_posts(1)
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    receiver.release()
    assert ledger_rows(tmp_path)["PT2H"].state == "sending"
    second = daemon_factory()
    posts = receiver.wait_posts(2)
    assert posts[1]["headers"]["webhook-id"] == held["headers"]["webhook-id"]
    assert posts[1]["json"]["data"]["alert_id"] == held["json"]["data"]["alert_id"]
    second.wait_event("alert.resend")
    second.wait_event("alert.sent")
    assert second.stop() == 0
    row = ledger_rows(tmp_path)["PT2H"]
    assert (row.state, row.attempts) == ("sent", 2)


def test_a_retry_survives_a_restart(receiver, notify, daemon_factory, daemon_config, tmp_path):
    receiver.statuses = [503]
    daemon_config(receiver.url, [just_passed("flaky")])
    first = daemon_factory()
    [retry] = first.wait_event("alert.retry")
    assert first.stop() == 0
    assert len(receiver.posts) == 1
    assert ledger_rows(tmp_path)["PT2H"].state == "pending"
    second = daemon_factory()
    posts = receiver.wait_posts(2, timeout=10)
    assert posts[1]["headers"]["webhook-id"] == posts[0]["headers"]["webhook-id"]
    assert posts[1]["at"] >= parse_instant(retry["retry_at"]), "the retry waited for its recorded instant"
    second.wait_event("alert.sent")
    assert second.stop() == 0
    assert ledger_rows(tmp_path)["PT2H"].attempts == 2


def test_a_hanging_receiver_does_not_delay_other_channels(notify, daemon_factory, tmp_path):
    """One receiver holds its request; the other channel's delivery of the same alert is not held up."""
    slow, fast = Receiver(), Receiver()
    slow.hold = True
    try:
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "a.yaml").write_text(json.dumps({
            "channels": {"slow": {"type": "webhook", "url": slow.url, "timeout": 30},
                         "fast": {"type": "webhook", "url": fast.url}},
            "deadlines": [{**just_passed("both"), "channels": ["slow", "fast"]}]}))
        d = daemon_factory(env={"ALERTD_SHUTDOWN_GRACE": "0.5"})
        [held] = slow.wait_posts(1)
        [post] = fast.wait_posts(1)
        assert abs(post["at"] - held["at"]) < 0.25, "sent together, not after the held one's 30 s timeout"
        assert d.stop() == 0  # the held delivery is cut after the shutdown grace
        [stopped] = d.events("daemon.stopped")
        assert stopped["cut_short"] == 1
    finally:
        slow.close()
        fast.close()


def test_a_slack_burst_waiting_for_its_pace_does_not_hold_the_other_channels(notify, daemon_factory, tmp_path):
    """Six Slack messages due at once are paced a second apart; with only two delivery slots, the
    webhook due at the same instant must not wait behind them."""
    slack, hook = Receiver(), Receiver()
    try:
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "a.yaml").write_text(json.dumps({
            "channels": {"slack": {"type": "slack", "url": slack.url}, "hook": {"type": "webhook", "url": hook.url}},
            "deadlines": [{**just_passed(f"s{i}"), "channels": ["slack"]} for i in range(6)]
            + [{**just_passed("w"), "channels": ["hook"]}]}))
        d = daemon_factory(env={"ALERTD_CONCURRENCY": "2"})
        [post] = hook.wait_posts(1)
        posts = slack.wait_posts(6, timeout=15)
        assert post["at"] < posts[1]["at"], "the webhook went out before the Slack pace's second turn"
        gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(posts)]
        assert min(gaps) > 0.9  # still one a second per webhook
        assert d.stop() == 0
    finally:
        slack.close()
        hook.close()
