"""alertd as it was at another git revision: its package unpacked under bench/work, run with
this interpreter; and timing a command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from harness import ROOT, WORK

# Makes `import alertd` find the package in the directory given first, not the one installed
# (editable) in the venv; the rest of argv is for the code that follows.
PREAMBLE = """
import sys
tree = sys.argv.pop(1)
sys.meta_path[:] = [f for f in sys.meta_path if not type(f).__module__.startswith("__editable__")]
sys.path.insert(0, tree)
import alertd
assert alertd.__file__.startswith(tree), alertd.__file__
"""
BOOT = PREAMBLE + "from alertd.cli import main\nsys.exit(main())\n"  # alertd's command line


def tree_at(rev: str) -> Path | None:
    """A directory holding the `alertd` package as it was at git revision `rev` (unpacked once
    under bench/work); ROOT itself for "." (this tree, uncommitted edits included); `rev` itself
    when it is a directory holding an `alertd` package; None when git cannot give it."""
    if rev == ".":
        return ROOT
    if (Path(rev) / "alertd" / "__init__.py").exists():  # a directory holding a copy of the package
        return Path(rev).resolve()
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", f"{rev}^{{commit}}"],
                         capture_output=True, text=True, check=False)
    if sha.returncode != 0:
        return None
    target = WORK / f"tree-{sha.stdout.strip()}"
    if (target / ".complete").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", sha.stdout.strip(), "alertd"], capture_output=True,
                             check=False)
    if archive.returncode != 0:
        return None
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    (target / ".complete").write_text(rev)
    return target


def cli_at(tree: Path | None, args: list[str]) -> list[str]:
    """`alertd ARGS` with the package in `tree` (None: the installed one, i.e. this tree)."""
    if tree is None:
        return [sys.executable, "-m", "alertd.cli", *args]
    return [sys.executable, "-c", BOOT, str(tree), *args]


def timed(command: list[str], out: Path | None = None) -> tuple[float, int]:
    """Wall seconds and exit code of `command` (its standard output to `out`, if given)."""
    sink = out.open("wb") if out else subprocess.DEVNULL
    started = time.monotonic()
    try:
        code = subprocess.run(command, stdout=sink, stderr=subprocess.DEVNULL, check=False, cwd=ROOT).returncode
    finally:
        if out:
            sink.close()  # type: ignore[union-attr]
    return time.monotonic() - started, code


def same_bytes(a: Path, b: Path) -> bool:
    return a.exists() and b.exists() and a.read_bytes() == b.read_bytes()
