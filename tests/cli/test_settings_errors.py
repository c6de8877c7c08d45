"""A bad `ALERTD_*` value: a configuration error (78) for the daemon, a usage error (2) elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("command", "code", "name", "value"), [
    *(("run", 78, name, value) for name, value in (("ALERTD_CATCHUP", "soon"), ("ALERTD_CATCHUP", "٣h"),
                                                  ("ALERTD_LOG_FORMAT", "xml"), ("ALERTD_WATCH", "1ms"),
                                                  ("ALERTD_CONCURRENCY", "0"))),
    ("check", 2, "ALERTD_CATCHUP", "soon"), ("status", 2, "ALERTD_LOG_FORMAT", "xml"),
])
def test_a_bad_setting_stops_the_daemon_for_good_and_is_a_usage_error_elsewhere(
        tmp_path: Path, name: str, value: str, command: str, code: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    env |= {name: value, "ALERTD_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run([sys.executable, "-m", "alertd.cli", command, "-c", str(REPO / "config")], env=env,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False)
    assert done.returncode == code, done.stderr
    assert done.stderr.startswith(f"alertd: {name}: "), done.stderr
    assert "Traceback" not in done.stderr
    assert "Value error" not in done.stderr  # pydantic's wording, not a reason
    assert not (tmp_path / "state").exists()  # nothing was started
