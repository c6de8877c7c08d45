"""Reading many config files: in this process, or half of them in a forked helper.

Parsing and validating 100,000 deadlines is pure Python work bound to one core. When there is
a lot to read (`PARALLEL_BYTES`), more than one CPU, and this process runs no other thread,
`read_parts` forks once: the child reads the second half of the files (by size) and sends its
`FilePart`s back pickled through a pipe while the parent reads the first half (with the caller's
`then` already applied: config.py resolves each part there, so the helper sends deadlines, and
resolving is split between the two processes as well). The results are
the parts a single process would have made, in the same order; if the helper fails in any way
(cannot fork, killed, short or bad data), the parent reads its half itself. A fork with other
threads alive could deadlock the child on a lock one of them held, hence the single-thread rule.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from alertd.config.filepart import FilePart, read_part

__all__ = ["PARALLEL_BYTES", "Stats", "read_parts"]

PARALLEL_BYTES = 4 * 1024 * 1024  # below this much YAML, a fork costs more than it saves


class Stats:
    """How the last `read_parts` went (for the benchmark and the tests)."""

    forked = False
    helper_files = 0
    helper_failed = ""


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def read_parts(todo: list[tuple[Path, bytes | None]], env: Mapping[str, str], pool: dict[Any, Any], *,
               parallel: bool | None = None, fast_yaml: bool = True,
               then: Callable[[FilePart], None] | None = None) -> list[FilePart]:
    """The parts of `todo` [(path, raw bytes or None to read)], in order.

    `parallel=None` decides by size, CPUs and threads; True forks whenever there are two files
    or more and no other thread (tests); False never forks. `then(part)` runs on each part as
    soon as it is read (in the helper, for its half), before the next file is read.
    """
    Stats.forked, Stats.helper_files, Stats.helper_failed = False, 0, ""

    def read(some: list[tuple[Path, bytes | None]], pool: dict[Any, Any]) -> list[FilePart]:
        out = []
        for path, raw in some:
            part = read_part(path, env, pool, raw=raw, fast_yaml=fast_yaml)
            if then is not None:
                then(part)
            out.append(part)
        return out

    size = sum(len(raw) if raw is not None else _size(path) for path, raw in todo)
    if parallel is None:
        parallel = size >= PARALLEL_BYTES and _cpus() > 1
    if not parallel or len(todo) < 2 or threading.active_count() > 1 or not hasattr(os, "fork"):
        return read(todo, pool)
    split = _halfway(todo, size)
    mine, theirs = todo[:split], todo[split:]
    helper = _Helper.start(lambda: read(theirs, {}))
    if helper is None:
        return read(todo, pool)
    parts = read(mine, pool)
    got = helper.collect()
    if got is None or len(got) != len(theirs):
        Stats.helper_failed = Stats.helper_failed or "short result"
        got = read(theirs, pool)
    else:
        Stats.forked, Stats.helper_files = True, len(got)
    return parts + got


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _halfway(todo: list[tuple[Path, bytes | None]], size: int) -> int:
    """The index that splits `todo` into two halves of about equal bytes (each non-empty)."""
    acc = 0
    for i, (path, raw) in enumerate(todo):
        acc += len(raw) if raw is not None else _size(path)
        if acc * 2 >= size:
            return min(max(i + 1, 1), len(todo) - 1)
    return len(todo) - 1


class _Helper:
    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self.fd = fd

    @classmethod
    def start(cls, work: Callable[[], list[FilePart]]) -> _Helper | None:
        try:
            r, w = os.pipe()
        except OSError as exc:
            Stats.helper_failed = f"pipe: {exc}"
            return None
        try:
            pid = os.fork()
        except OSError as exc:
            os.close(r)
            os.close(w)
            Stats.helper_failed = f"fork: {exc}"
            return None
        if pid == 0:  # pragma: no cover - the child; its work is checked by what the parent gets
            code = 1
            try:
                os.close(r)
                parts = work()
                for part in parts:
                    part.located = None  # holds a closure; lines are found again from the file
                data = pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(w, "wb") as out:
                    out.write(data)
                code = 0
            finally:
                os._exit(code)  # no atexit handlers, no flushing of the parent's buffers
        os.close(w)
        return cls(pid, r)

    def collect(self) -> list[FilePart] | None:
        chunks = []
        try:
            with os.fdopen(self.fd, "rb") as pipe:
                while chunk := pipe.read(1 << 20):
                    chunks.append(chunk)
        finally:
            _, status = os.waitpid(self.pid, 0)
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            Stats.helper_failed = f"helper ended with status {status}"
            return None
        with contextlib.suppress(Exception):
            parts = pickle.loads(b"".join(chunks))  # noqa: S301 - our own child's data, through our own pipe
            if isinstance(parts, list) and all(isinstance(p, FilePart) for p in parts):
                return parts
        Stats.helper_failed = "unreadable result"
        return None
