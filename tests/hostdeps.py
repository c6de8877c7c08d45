"""What the test suite needs from the machine beyond .venv, checked before any test runs.

`make test` runs this module first, so a machine that lacks a tool stops at once with the name of
what is missing and the command that installs it, instead of failing deep inside a test. It never
installs anything itself; `.ci/run` (a throwaway CI machine, as root) asks it for the Debian
package names and installs them with apt.

    python -m tests.hostdeps                    check everything; exit 1 with instructions
    python -m tests.hostdeps --build            only what `make test` needs to build the test extra
    python -m tests.hostdeps --debian-packages  print the missing Debian packages, one per line

Standard library only: it runs before the test dependencies are installed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

FAKETIME_SONAME = "libfaketime.so.1"
CHROMIUM = os.environ.get("ALERTD_TEST_CHROMIUM", "/usr/bin/chromium")  # Debian's; the browser tests use it
# How far the probe moves the clock; far enough that no real clock drift can fake a pass.
_PROBE_SHIFT_S = 100 * 86400


@dataclass(frozen=True)
class Need:
    what: str           # the command or file, as a person would look for it
    packages: tuple[str, ...]  # Debian packages that provide it
    why: str


BUILD = (
    Need(os.environ.get("CC", "cc"), ("gcc", "libc6-dev"),
         "the test extra builds libfaketime from its C source (clock-jump tests)"),
    Need("make", ("make",), "libfaketime's build runs make"),
)
SYSTEM = (
    Need("systemd-analyze", ("systemd",),
         "tests/test_systemd_unit.py checks systemd/alertd.service with it (offline, no running systemd)"),
    Need("/bin/kill", ("procps",),
         "`systemd-analyze verify` checks that the unit's ExecReload binary exists"),
    Need(CHROMIUM, ("chromium",),
         "tests/web/test_browser.py drives it headless with Playwright (never `playwright install`)"),
)


def present(need: Need) -> bool:
    if need.what.startswith("/"):
        return os.access(need.what, os.X_OK)
    return shutil.which(need.what) is not None


def libfaketime_path() -> Path:
    """The libfaketime.so.1 built by the `libfaketime` package of the test extra."""
    spec = importlib.util.find_spec("libfaketime")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise LookupError("the `libfaketime` package is not installed in this Python "
                          f"({sys.executable}); `make test` installs it with the test extra: "
                          "pip install --no-binary libfaketime -e '.[test]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "vendor" / "libfaketime" / "src" / FAKETIME_SONAME
    if not path.is_file():
        raise LookupError(f"the `libfaketime` package has no {FAKETIME_SONAME} at {path}: reinstall it "
                          "so it is built here: pip install --force-reinstall --no-binary libfaketime libfaketime")
    return path


def probe_libfaketime(path: Path) -> None:
    """Preload `path` into a child Python and check that its wall clock really moved.

    The dynamic loader only warns when it cannot preload a library (wrong architecture, missing
    file) and runs the program unchanged, so without this a broken library would pass as a clock
    that simply did not jump.
    """
    env = {**os.environ, "LD_PRELOAD": str(path), "FAKETIME": f"+{_PROBE_SHIFT_S}",
           "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    env.pop("FAKETIME_TIMESTAMP_FILE", None)
    before = time.time()
    result = subprocess.run([sys.executable, "-c", "import time; print(time.time())"], capture_output=True,
                            text=True, env=env, timeout=30, check=False)
    real = (before + time.time()) / 2
    try:
        shift = float(result.stdout.strip()) - real
    except ValueError:
        shift = 0.0
    if result.returncode != 0 or abs(shift - _PROBE_SHIFT_S) > 60:
        raise LookupError(f"{path} did not move a child process's clock (exit {result.returncode}, "
                          f"shift {shift:.0f} s, stderr: {result.stderr.strip()!r}); rebuild it here: "
                          "pip install --force-reinstall --no-binary libfaketime libfaketime")


def _install_command(packages: list[str]) -> str:
    sudo = "" if os.geteuid() == 0 else "sudo "
    return f"{sudo}apt-get install --no-install-recommends {' '.join(packages)}"


def main(argv: list[str]) -> int:
    if argv[1:] == ["--debian-packages"]:
        for package in dict.fromkeys(p for need in (*BUILD, *SYSTEM) if not present(need) for p in need.packages):
            print(package)
        return 0
    if argv[1:] not in ([], ["--build"]):
        print(__doc__, file=sys.stderr)
        return 2
    needs = BUILD if argv[1:] == ["--build"] else (*BUILD, *SYSTEM)
    missing = [need for need in needs if not present(need)]
    problems = [f"  - {need.what} (Debian package {' + '.join(need.packages)}): {need.why}" for need in missing]
    if argv[1:] == []:
        try:
            probe_libfaketime(libfaketime_path())
        except LookupError as error:
            problems.append(f"  - libfaketime for the clock-jump tests: {error}")
    if not problems:
        return 0
    print("The test suite needs what this machine lacks:", *problems, sep="\n", file=sys.stderr)
    if missing:
        packages = list(dict.fromkeys(p for need in missing for p in need.packages))
        print(f"Install it with:\n  {_install_command(packages)}\n(on Debian or Ubuntu; .ci/run does this in CI)",
              file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
