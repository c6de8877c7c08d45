"""A Linux inotify watch on one file, through libc (the standard library has no binding).

The ledger watches its WAL file: every commit by any process writes to it, so the daemon's event
loop can wait on the watch's descriptor with everything else (epoll) and spend nothing while
nobody writes. A write comes a moment BEFORE its commit is visible (the WAL index in shared memory
is updated after the frames are written, with no event), so the watch also reports when a writer
closes the file (a command's process ending its connection, after its commit), and the daemon
asks again for a second after a write that did not show a change yet. A probe on every 250 ms
tick instead costs ~0.1 ms of CPU each time, because after a quarter second of sleep nothing is
in the caches (bench/state_probe.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from pathlib import Path

__all__ = ["FileWatch"]

_IN_MODIFY = 0x00000002
_IN_CLOSE_WRITE = 0x00000008
_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC


class FileWatch:
    """Readable when the watched file was written to; `drain()` reads the pending events."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def open(cls, path: Path) -> FileWatch | None:
        """A watch for writes to `path`, or None where inotify is not available (not Linux, no
        libc symbol, the file missing, the per-user watch limit reached): callers poll then."""
        if not sys.platform.startswith("linux"):
            return None
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        except (OSError, AttributeError):
            return None
        if fd < 0:
            return None
        if libc.inotify_add_watch(fd, os.fsencode(path), _IN_MODIFY | _IN_CLOSE_WRITE) < 0:
            os.close(fd)
            return None
        return cls(fd)

    def drain(self) -> bool:
        """Read every pending event; whether there was any."""
        seen = False
        while True:
            try:
                data = os.read(self.fd, 4096)
            except BlockingIOError:
                return seen
            except OSError:
                return True  # be safe: let the caller look
            if not data:
                return seen
            seen = True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)
