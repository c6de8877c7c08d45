"""`alertd demo`: the real daemon on a temporary config shows a reminder and the due alert, then stops,
leaving the directory it ran in as it was."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from alertd.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_the_demo_shows_a_reminder_and_the_due_alert_and_touches_nothing_of_the_users(tmp_path: Path) -> None:
    """Run where a user's config/ and state/ are, with ALERTD_* settings pointing at them too."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "mine.yaml").write_text("channels: {mine: {type: console}}\n", encoding="utf-8")
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "ledger.sqlite3").write_bytes(b"the user's ledger")
    before = _snapshot(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTD_", "NOTIFY_", "JOURNAL_"))}
    env |= {"ALERTD_CONFIG_DIR": str(tmp_path / "config"), "ALERTD_METRICS_ADDR": "127.0.0.1:1",
            "ALERTD_LOG_LEVEL": "error", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "alertd.cli", "demo", "--in", "4s"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=100, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines()]  # standard error is a pipe: JSON
    shown = [(e["event"], e.get("lead"), e.get("message")) for e in events if e["event"] == "alert.console"]
    assert shown == [
        ("alert.console", "PT2S", shown[0][2]),
        ("alert.console", "PT0S", shown[1][2]),
    ]
    assert shown[0][2].startswith("Your first alertd deadline: in 2 seconds (due ")
    assert shown[1][2].startswith("Your first alertd deadline: due now (due ")
    names = [e["event"] for e in events]
    assert names[0] == "daemon.ready" and names[-1] == "daemon.stopped"  # the log level was info, not error
    assert "metrics.listening" not in names  # the user's metrics address was not taken
    said = result.stdout.splitlines()
    assert [line.split(":")[0] for line in said] == ["alertd demo"] * 3
    assert said[2].startswith("alertd demo: the alert at the due arrived")
    [temporary] = re.findall(r"state in (\S+) \(yours are not touched\)", said[0])
    assert not Path(temporary).exists(), "the temporary directory is left behind"
    assert not str(temporary).startswith(str(tmp_path))
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("bad", ["1s", "2h", "0", "soon"])
def test_a_demo_duration_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str], bad: str) -> None:
    assert main(["demo", "--in", bad]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["usage: alertd demo [-h] [--in DURATION]",
                   f"alertd demo: error: --in {bad!r}: give a duration from 2s to 1h, such as 20s, 1m or 1m30s"]
