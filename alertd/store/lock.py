"""One daemon per state directory: an exclusive `flock` on `alertd.lock` in it, held while it runs.

Two daemons on one ledger both send everything (each decides from the same rows). The second
`alertd run` finds the lock taken and stops at once, naming the directory and the holder's pid
(written into the file by the holder). `alertd status` and the other commands that read or write
the ledger beside a running daemon do not take it: SQLite's own locking serialises their writes.
The kernel drops the lock when the holder exits, however it exits: no stale lock files.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from alertd.store.base import StoreError

__all__ = ["LOCK_FILE", "StateLock", "StateLockError"]

LOCK_FILE = "alertd.lock"


class StateLockError(StoreError):
    """The state directory is in use by another daemon, or cannot be locked."""


class StateLock:
    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    @classmethod
    def acquire(cls, directory: Path) -> StateLock:
        """Lock `directory` (created if missing) for this process; raises StateLockError."""
        path = directory / LOCK_FILE
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StateLockError(f"cannot use state directory {directory}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _holder(fd)
            os.close(fd)
            if isinstance(exc, BlockingIOError):
                raise StateLockError(f"state directory {directory} is in use by another alertd"
                                     f"{f' (pid {holder})' if holder else ''}: one daemon per state directory"
                                     ) from None
            raise StateLockError(f"cannot lock state directory {directory}: {exc.strerror or exc}") from None
        with contextlib.suppress(OSError):  # the pid is for the message above only
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd, path)

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the descriptor releases the lock
            self.fd = -1


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(fd, 32, 0).decode("ascii").strip()
        if text.isdigit():
            return text
    return ""
