"""tests/hostdeps.py: what `make test` says before any test when the machine lacks a tool."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .hostdeps import libfaketime_path, probe_libfaketime

ROOT = Path(__file__).resolve().parent.parent


def hostdeps(*args: str, path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tests.hostdeps", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PATH": str(path), **env}, timeout=60, check=False)


def test_a_machine_without_the_tools_is_told_what_to_install(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()

    result = hostdeps(path=empty, CC="cc")

    assert result.returncode == 1
    assert "systemd-analyze (Debian package systemd)" in result.stderr
    assert "cc (Debian package gcc + libc6-dev)" in result.stderr
    [command] = [line.split() for line in result.stderr.splitlines() if "apt-get install" in line]
    assert {"gcc", "libc6-dev", "make", "systemd"} <= set(command[command.index("--no-install-recommends") + 1:])


def test_ci_gets_the_missing_debian_packages_one_per_line(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "make").symlink_to(shutil.which("make"))

    result = hostdeps("--debian-packages", path=bin_dir, CC="cc")

    procps = [] if os.access("/bin/kill", os.X_OK) else ["procps"]
    assert (result.returncode, result.stdout.split()) == (0, ["gcc", "libc6-dev", "systemd", *procps])


def test_the_build_check_leaves_the_system_tools_to_the_full_check(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("cc", "make"):
        (bin_dir / tool).symlink_to(shutil.which(tool))

    assert hostdeps("--build", path=bin_dir, CC="cc").returncode == 0


def test_the_test_extras_libfaketime_moves_a_child_processs_clock() -> None:
    path = libfaketime_path()
    assert path.is_relative_to(Path(sys.prefix)), "the clock tests must use the library the test extra built"
    probe_libfaketime(path)  # raises LookupError, with the reason, if the clock did not move


def test_a_machine_without_chromium_is_told_to_install_debians_package(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-chromium")

    result = hostdeps(path=Path(os.environ["PATH"]), ALERTD_TEST_CHROMIUM=missing)
    listed = hostdeps("--debian-packages", path=Path(os.environ["PATH"]),
                      ALERTD_TEST_CHROMIUM=missing)

    assert result.returncode == 1
    assert f"{missing} (Debian package chromium)" in result.stderr
    assert "chromium" in listed.stdout.split()
