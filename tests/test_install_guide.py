"""The install guide's `alertd check` before a reload resolves secrets the way the service does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alertd.store.ledger import Ledger

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "systemd" / "README.md"
SECRET = "https://hooks.slack.com/services/T000/B000/guide-secret"

CONFIG = """\
channels:
  ops-slack:
    type: slack
    url: ${SLACK_OPS_WEBHOOK}
deadlines:
  - id: guide-deadline
    title: A deadline dropped into /etc/alertd
    due: 2099-05-21
    timezone: Europe/Moscow
    channels: [ops-slack]
"""


def check(config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("SLACK_OPS_WEBHOOK", "CREDENTIALS_DIRECTORY")}
    return subprocess.run([sys.executable, "-m", "alertd.cli", "check", "-c", str(config)],
                          capture_output=True, text=True, env={**base, **env}, timeout=60, check=False)


def test_the_guide_runs_check_with_the_credential_store_as_credentials_directory() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    assert "sudo CREDENTIALS_DIRECTORY=/etc/credstore /opt/alertd/venv/bin/alertd check -c /etc/alertd" in text
    assert "sudo systemctl reload alertd" in text


def test_check_reads_a_secret_from_a_credential_store_directory(tmp_path: Path) -> None:
    """`CREDENTIALS_DIRECTORY=/etc/credstore alertd check -c /etc/alertd`, with tmp_path as /."""
    etc_alertd, credstore = tmp_path / "alertd", tmp_path / "credstore"
    etc_alertd.mkdir()
    credstore.mkdir(mode=0o700)
    (etc_alertd / "deadlines.yaml").write_text(CONFIG, encoding="utf-8")
    (credstore / "SLACK_OPS_WEBHOOK").write_text(SECRET + "\n", encoding="utf-8")

    result = check(etc_alertd, CREDENTIALS_DIRECTORY=str(credstore))

    assert result.returncode == 0, result.stderr
    assert "config OK: 1 deadline" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_check_without_the_credential_names_the_missing_secret(tmp_path: Path) -> None:
    (tmp_path / "deadlines.yaml").write_text(CONFIG, encoding="utf-8")

    result = check(tmp_path, CREDENTIALS_DIRECTORY=str(tmp_path / "empty"))

    assert result.returncode == 1
    assert "SLACK_OPS_WEBHOOK" in result.stderr


STATUS = ("sudo ALERTD_STATE_DIR=/var/lib/alertd CREDENTIALS_DIRECTORY=/etc/credstore "
          "/opt/alertd/venv/bin/alertd status -c /etc/alertd")


def test_the_guide_runs_status_with_the_state_directory_and_the_credential_store() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    assert STATUS in text
    assert STATUS + " --json" in text
    assert "Environment=ALERTD_METRICS_ADDR=127.0.0.1:9721" in text
    assert "Environment=ALERTD_WATCH=2s" in text


def test_status_reads_the_services_ledger_with_a_secret_from_a_credential_store(tmp_path: Path) -> None:
    """The guide's status command, with tmp_path as /: /var/lib/alertd, /etc/alertd, /etc/credstore."""
    etc_alertd, credstore, state = tmp_path / "alertd", tmp_path / "credstore", tmp_path / "var-lib-alertd"
    etc_alertd.mkdir()
    credstore.mkdir(mode=0o700)
    (etc_alertd / "deadlines.yaml").write_text(CONFIG, encoding="utf-8")
    (credstore / "SLACK_OPS_WEBHOOK").write_text(SECRET + "\n", encoding="utf-8")
    Ledger.open(state / "ledger.sqlite3").close()
    base = {k: v for k, v in os.environ.items()
            if k not in ("SLACK_OPS_WEBHOOK", "CREDENTIALS_DIRECTORY") and not k.startswith("ALERTD_")}

    result = subprocess.run([sys.executable, "-m", "alertd.cli", "status", "-c", str(etc_alertd)],
                            capture_output=True, text=True, timeout=60, check=False,
                            env={**base, "ALERTD_STATE_DIR": str(state), "CREDENTIALS_DIRECTORY": str(credstore)})

    assert result.returncode == 0, result.stderr
    assert "guide-deadline  -> ops-slack" in result.stdout
    assert SECRET not in result.stdout + result.stderr
