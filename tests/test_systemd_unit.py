"""systemd/alertd.service: clean under `systemd-analyze verify`, exposure 1.2 or less, the contract's settings.

These run the real systemd-analyze (offline: systemd need not be PID 1). Without it they
FAIL rather than skip, so a CI that lost the install step cannot pass silently.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "alertd.service"
GUIDE = ROOT / "systemd" / "README.md"
INSTALLED_EXEC = "/opt/alertd/venv/bin/alertd"
MAX_EXPOSURE = 1.2
_OVERALL = re.compile(r"Overall exposure level for \S+: (\d+(?:\.\d+)?) (\w+)")


def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.fail("systemd-analyze is not installed: `apt-get install --no-install-recommends systemd` "
                    "to check systemd/alertd.service (`make test` says so before any test; .ci/run installs it)")
    return path


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": "", "SYSTEMD_LOG_COLOR": "0"}
    return subprocess.run([systemd_analyze(), "--no-pager", *args], capture_output=True, text=True,
                          encoding="utf-8", errors="replace", env=env, timeout=60, check=False)


def alertd_binary() -> str:
    """The installed `alertd` console script of the interpreter running the tests."""
    candidate = Path(sys.executable).parent / "alertd"
    found = str(candidate) if candidate.exists() else shutil.which("alertd")
    assert found, "the alertd console script is not installed (pip install -e .)"
    return found


def unit_copy(directory: Path, *, extra: str = "") -> Path:
    """The shipped unit with ExecStart pointing at an existing binary (verify checks it exists)."""
    text = UNIT.read_text(encoding="utf-8")
    assert INSTALLED_EXEC in text
    copy = directory / "alertd.service"
    copy.write_text(text.replace(INSTALLED_EXEC, alertd_binary()) + extra, encoding="utf-8")
    return copy


def settings(text: str) -> dict[str, list[str]]:
    """Every `Key=value` of a unit file, in order, comments skipped (keys may repeat)."""
    out: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def exposure(output: str) -> tuple[float, str]:
    match = _OVERALL.search(output)
    assert match, f"no 'Overall exposure level' line in systemd-analyze output:\n{output}"
    return float(match.group(1)), match.group(2)


def test_the_unit_verifies_without_any_output(tmp_path: Path) -> None:
    """`verify` only warns (unknown keys, bad values), so the pass criterion is empty output."""
    assert Path("/bin/kill").exists(), ("ExecReload needs /bin/kill: `apt-get install --no-install-recommends procps` "
                                      "(`make test` says so before any test; .ci/run installs it)")
    result = analyze("verify", str(unit_copy(tmp_path)))
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_verify_does_report_an_unknown_key(tmp_path: Path) -> None:
    """Guards the test above: an empty output must mean 'clean', not 'nothing was checked'."""
    result = analyze("verify", str(unit_copy(tmp_path, extra="[Service]\nWatchdogSecs=30s\n")))
    assert "Unknown key 'WatchdogSecs'" in result.stdout + result.stderr


def test_the_unit_is_hardened_to_an_exposure_of_at_most_1_2() -> None:
    result = analyze("security", "--offline=true", str(UNIT))
    score, verdict = exposure(result.stdout + result.stderr)
    assert score <= MAX_EXPOSURE, f"exposure {score} {verdict} > {MAX_EXPOSURE}:\n{result.stdout}"
    assert verdict == "OK"


def test_the_install_guides_credentials_drop_in_verifies_and_keeps_the_score(tmp_path: Path) -> None:
    """The `credentials.conf` block of systemd/README.md, applied as a real drop-in."""
    block = re.search(r"```ini\n# /etc/systemd/system/alertd\.service\.d/credentials\.conf\n(.*?)```",
                      GUIDE.read_text(encoding="utf-8"), re.DOTALL)
    assert block, "systemd/README.md lost its credentials.conf drop-in"
    assert "LoadCredentialEncrypted=" in block.group(1)
    assert "LoadCredential=" in block.group(1)
    unit = unit_copy(tmp_path)
    dropins = tmp_path / "alertd.service.d"
    dropins.mkdir()
    (dropins / "credentials.conf").write_text(block.group(1), encoding="utf-8")
    result = analyze("verify", str(unit))
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
    score, _ = exposure(analyze("security", "--offline=true", str(unit)).stdout)
    assert score <= MAX_EXPOSURE


def test_the_unit_has_the_settings_the_contract_names() -> None:
    keys = settings(UNIT.read_text(encoding="utf-8"))
    assert keys["Type"] == ["notify"]  # systemd 252 (Debian 12) has no notify-reload
    assert keys["ExecStart"] == [f"{INSTALLED_EXEC} run"]
    assert keys["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert keys["Restart"] == ["on-failure"]
    assert keys["RestartPreventExitStatus"] == ["78"]
    assert keys["DynamicUser"] == ["yes"]
    assert keys["StateDirectory"] == ["alertd"]
    assert keys["ConfigurationDirectory"] == ["alertd"]
    assert "WatchdogSec" in keys
    assert "ConfigurationDirectoryMode" not in keys, "the dynamic user must be able to read /etc/alertd"


def test_the_exposure_parser_reads_systemd_252_output() -> None:
    line = "→ Overall exposure level for alertd.service: 1.1 OK \N{SLIGHTLY SMILING FACE}"
    assert exposure(line) == (1.1, "OK")
