"""`alertd status` against the ledger a real daemon run left (and beside one still running)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alertd.core.display import rfc3339
from alertd.store.base import NewRow
from alertd.store.ledger import Ledger

from .conftest import REPO, iso

pytestmark = pytest.mark.slow


def status(tmp_path: Path, *args: str, state: Path | None = None, env: dict[str, str] | None = None,
           cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTD_", "STATE_DIRECTORY"))}
    full |= {"ALERTD_STATE_DIR": str(state or tmp_path / "state"), "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "alertd.cli", "status", "-c", str(tmp_path / "config"), *args],
                          cwd=cwd, env=full, capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def after_a_run(receiver, notify, daemon_factory, daemon_config, tmp_path):
    """A daemon that gave one alert up (404), then sent one, and has a deadline ahead; yields (daemon, far due).

    No due is timed against the daemon's start-up: each alert is a reminder whose instant has just
    passed while its deadline is ahead, which the daemon sends (late) as soon as it sees it; the
    second deadline comes by SIGHUP after the first alert failed, so the two happen in that order.
    """
    receiver.statuses = [404]
    now = datetime.now(UTC)
    far_due = now + timedelta(days=3)
    soon = {"due": iso(now + timedelta(hours=2)), "remind": ["2h"]}
    daemon_config(receiver.url, [
        {"id": "refused", "title": "Refused", **soon},
        {"id": "far", "title": "Far", "due": iso(far_due), "remind": ["1d", "1h", "0"]},
    ])
    d = daemon_factory()
    d.wait_event("alert.failed")
    (tmp_path / "config" / "more.yaml").write_text(json.dumps({"deadlines": [{"id": "accepted", "title": "Accepted",
                                                                             **soon}]}))
    d.signal(signal.SIGHUP)
    d.wait_event("alert.sent")
    return d, far_due


def test_status_json_shows_next_recent_and_failures_beside_a_running_daemon(after_a_run, tmp_path):
    d, far_due = after_a_run
    result = status(tmp_path, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"deadlines", "next", "recent", "failures"}
    assert [(i["id"], i["state"], i["next_alert"] and i["next_alert"]["lead"]) for i in report["deadlines"]] == [
        ("far", "open", "P1D"), ("accepted", "open", None), ("refused", "open", None)]

    assert [(i["deadline"], i["lead"]) for i in report["next"]] == [("far", "P1D"), ("far", "PT1H"), ("far", "PT0S")]
    first = report["next"][0]
    assert first == {"deadline": "far", "lead": "P1D", "fire_at": rfc3339(far_due - timedelta(days=1)),
                     "due": rfc3339(far_due), "channels": ["hook"], "state": "planned", "attempts": 0,
                     "next_retry_at": None, "last_error": None}

    assert [(r["deadline"], r["state"]) for r in report["recent"]] == [("accepted", "sent"), ("refused", "failed")]
    sent = report["recent"][0]
    assert sent["lead"] == "PT2H" and sent["attempts"] == 1 and sent["sent_at"].endswith("Z")
    assert sent["alert_id"] == d.events("alert.sent")[0]["alert_id"]

    [failure] = report["failures"]
    assert (failure["deadline"], failure["state"], failure["reason"], failure["attempts"]) == (
        "refused", "failed", "permanent", 1)
    assert "404" in failure["last_error"]
    assert d.stop() == 0


def test_status_text_after_the_daemon_stopped_leaves_the_state_directory_as_it_was(after_a_run, tmp_path):
    d, _ = after_a_run
    assert d.stop() == 0
    before = sorted(p.name for p in (tmp_path / "state").iterdir())
    result = status(tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "next alerts:" in out and "P1D      far  -> hook" in out
    assert "recent deliveries:" in out and "sent" in out
    assert "failed (permanent) after 1 attempt: PT2H refused  -> hook" in out
    assert "404" in out
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == before == ["alertd.lock", "ledger.sqlite3"], \
        "a read-only status creates no -wal/-shm (they would belong to the user who ran it)"


def test_status_with_an_invalid_config_still_shows_the_ledger_and_exits_1(after_a_run, tmp_path):
    d, _ = after_a_run
    assert d.stop() == 0
    (tmp_path / "config" / "broken.yaml").write_text("deadlines: [\n")
    result = status(tmp_path, "--json")
    assert result.returncode == 1
    assert "broken.yaml" in result.stderr and "the next alerts cannot be planned" in result.stderr
    report = json.loads(result.stdout)
    assert report["next"] is None
    assert len(report["recent"]) == 2 and len(report["failures"]) == 1


def test_status_on_a_missing_state_directory_says_so_and_exits_1(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "a.yaml").write_text("channels: {out: {type: console}}\ndeadlines: []\n")
    result = status(tmp_path, state=tmp_path / "nowhere")
    assert result.returncode == 1
    assert result.stderr.strip() == (f"alertd: no state directory at {tmp_path / 'nowhere'}: has `alertd run` "
                                     "started with it? (set ALERTD_STATE_DIR, or run where ./state is)")
    assert result.stdout == ""
    assert not (tmp_path / "nowhere").exists()


def test_status_on_an_empty_state_directory_says_so_and_exits_1(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "a.yaml").write_text("channels: {out: {type: console}}\ndeadlines: []\n")
    (tmp_path / "state").mkdir()
    result = status(tmp_path, "--json")
    assert result.returncode == 1
    assert "no ledger at" in result.stderr and str(tmp_path / "state" / "ledger.sqlite3") in result.stderr
    assert "Traceback" not in result.stderr
    assert list((tmp_path / "state").iterdir()) == []


def test_status_finds_the_state_directory_as_the_daemon_does(tmp_path):
    """$STATE_DIRECTORY (systemd) when ALERTD_STATE_DIR is unset."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "a.yaml").write_text("channels: {out: {type: console}}\ndeadlines: []\n")
    Ledger.open(tmp_path / "sd" / "ledger.sqlite3").close()
    full = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    full |= {"STATE_DIRECTORY": str(tmp_path / "sd"), "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "alertd.cli", "status", "-c", str(tmp_path / "config")],
                            cwd=tmp_path, env=full, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert "no deliveries yet" in result.stdout


def test_status_redacts_secrets_and_lists_a_waiting_retry_as_next(tmp_path):
    """Every line goes through the redactor, even text the ledger holds from before a secret was known."""
    secret = "https://hooks.example.org/T000/very-secret-token"
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "a.yaml").write_text(
        "channels: {hook: {type: webhook, url: '${HOOK_URL}'}}\n"
        "deadlines: [{id: d, title: D, due: '2999-01-01T00:00:00Z', remind: ['0'], channels: [hook]}]\n")
    now = datetime.now(UTC).replace(microsecond=0)
    due = now + timedelta(hours=1)
    with Ledger.open(tmp_path / "state" / "ledger.sqlite3") as led:
        led.record([NewRow("k1", "d", "PT1H", due, "hook", now, "pending")], now=now)
        led.mark_sending("k1", now=now)
        led.mark_retry("k1", at=now + timedelta(minutes=5), error=f"connection refused: {secret}", now=now)
    for args in ((), ("--json",)):
        result = status(tmp_path, *args, env={"HOOK_URL": secret})
        assert result.returncode == 0, result.stderr
        assert secret not in result.stdout and "[redacted]" in result.stdout
    report = json.loads(result.stdout)
    retry = report["next"][0]
    assert (retry["deadline"], retry["state"], retry["attempts"], retry["next_retry_at"]) == (
        "d", "pending", 1, rfc3339(now + timedelta(minutes=5)))
    assert report["next"][1]["deadline"] == "d" and report["next"][1]["state"] == "planned"


@pytest.mark.parametrize("limit", ["0", "99999999999999999999"])
def test_status_limit_must_be_in_range(tmp_path, limit):
    (tmp_path / "config").mkdir()
    result = status(tmp_path, "--limit", limit)
    assert result.returncode == 2
    assert f"--limit {limit} must be from 1 to 100,000" in result.stderr
    assert "Traceback" not in result.stderr
