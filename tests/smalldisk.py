"""A real small filesystem for disk-full tests: a tmpfs of a few hundred KiB, filled and freed on demand.

Mounting needs root (CAP_SYS_ADMIN); without it the tests that need one are skipped with that
reason: a mocked "disk full" would test the mock.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["SmallDisk", "small_disk"]


class SmallDisk:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / ".filler"

    def fill(self) -> None:
        """Write until the filesystem says ENOSPC: every later write fails until `free`."""
        with self.filler.open("ab", buffering=0) as f:
            chunk = b"\0" * 4096
            while True:
                try:
                    f.write(chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
            for size in (512, 64, 1):  # the last partial blocks too
                with contextlib.suppress(OSError):
                    while True:
                        f.write(b"\0" * size)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def read_only(self, ro: bool = True) -> None:
        mode = "ro" if ro else "rw"
        subprocess.run(["mount", "-o", f"remount,{mode}", str(self.path)], check=True, capture_output=True)


@contextlib.contextmanager
def small_disk(path: Path, size: str = "768k") -> Iterator[SmallDisk]:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("disk-full tests mount a small tmpfs, which needs root (CAP_SYS_ADMIN)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for the disk-full test: {done.stderr.strip()}")
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)
