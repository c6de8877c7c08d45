"""A bad `ALERTD_*` value: a configuration error (78) for the daemon, a usage error (2) elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from alertd.settings import Settings, link_secret

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("command", "code", "name", "value"), [
    *(("run", 78, name, value) for name, value in (("ALERTD_CATCHUP", "soon"), ("ALERTD_CATCHUP", "٣h"),
                                                  ("ALERTD_LOG_FORMAT", "xml"), ("ALERTD_WATCH", "1ms"),
                                                  ("ALERTD_CONCURRENCY", "0"),
                                                  ("ALERTD_PUBLIC_URL", "http://alertd.example.org"),
                                                  ("ALERTD_PUBLIC_URL", "https://user:pw@alertd.example.org"),
                                                  ("ALERTD_PUBLIC_URL", "https://alertd.example.org/?x=1"),
                                                  ("ALERTD_PUBLIC_URL", "ftp://alertd.example.org"),
                                                  ("ALERTD_LINK_SECRET", "too-short"))),
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
    assert not (tmp_path / "state").exists()  # nothing was started


def test_a_link_secret_credential_too_short_stops_the_daemon_without_showing_it(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "link-secret").write_text("tiny-secret\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    env |= {"CREDENTIALS_DIRECTORY": str(creds), "ALERTD_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run([sys.executable, "-m", "alertd.cli", "run", "-c", str(REPO / "config")], env=env,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False)
    assert done.returncode == 78, done.stderr
    assert done.stderr.startswith("alertd: credential link-secret: must be at least 16 characters"), done.stderr
    assert "tiny-secret" not in done.stderr + done.stdout
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize(("value", "expected"), [
    ("https://alertd.example.org/", "https://alertd.example.org"),
    ("https://example.org/alertd", "https://example.org/alertd"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("http://[::1]:8080/", "http://[::1]:8080"),
    ("http://localhost:8080", "http://localhost:8080"),
    ("", None),
])
def test_the_public_url_is_a_base_https_unless_loopback(value: str, expected: str | None) -> None:
    assert Settings(public_url=value).public_url == expected


def test_the_link_secret_comes_from_the_variable_before_the_credential(tmp_path: Path) -> None:
    (tmp_path / "link-secret").write_text("from-the-credential-file\n")
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert link_secret(Settings(), env) == "from-the-credential-file"
    assert link_secret(Settings(link_secret="from-the-environment-1"), env) == "from-the-environment-1"
    assert link_secret(Settings(), {}) is None
    assert "from-the-environment-1" not in repr(Settings(link_secret="from-the-environment-1"))
